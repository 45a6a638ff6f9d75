"""The AWS CDK app of the Skills & Ideas API (entry point: ``infra/app.py``)."""
