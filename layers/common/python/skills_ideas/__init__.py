"""Shared code of the Skills & Ideas API, shipped to every function as a Lambda layer."""

__version__ = "1.0.0"
