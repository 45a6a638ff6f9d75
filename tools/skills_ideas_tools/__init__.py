"""Developer tools of the Skills & Ideas API that never ship to Lambda.

``skills-ideas serve`` (the local API Gateway), ``skills-ideas invoke`` (one handler, one event)
and the local services they run on. Later commands (migrate, admin) plug into ``cli.py``.
"""
