"""Test-wide safety: fake AWS credentials and a region before any client can exist, and the
environment every handler reads. Nothing in the test suite can reach a real AWS endpoint."""

from __future__ import annotations

import os

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "TABLE_NAME": "skills-ideas-test",
    "CATALOGUE_BUCKET": "skills-ideas-catalogue-test",
    "CATALOGUE_KEY": "catalogue/skills.json",
    "JWT_SECRET": "test-signing-key-of-at-least-thirty-two-bytes!!",
    "CURSOR_KEY": "test-cursor-key-of-at-least-thirty-two-bytes!!",
    "STAGE": "test",
    "POWERTOOLS_SERVICE_NAME": "skills-ideas",
    "POWERTOOLS_METRICS_NAMESPACE": "SkillsIdeas",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ[_name] = _value
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
os.environ.pop("S3_ENDPOINT_URL", None)
os.environ.pop("JWT_SECRET_NAME", None)
