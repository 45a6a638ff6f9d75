"""Synthesize each stage once per test session; every infrastructure test reads that result.

CDK synth is slow (seconds per stage), so the app is built once per stage, with cdk-nag on,
into a temporary cloud assembly; tests read the template JSON through ``aws_cdk.assertions``
and the plain dict.
"""

from __future__ import annotations

import os

# Before any CDK import: no jsii banner, no CLI telemetry, and never real AWS credentials.
for _name, _value in {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    os.environ[_name] = _value
os.environ.pop("CDK_DEFAULT_ACCOUNT", None)

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from infra.config import stage_config  # noqa: E402
from infra.stack import build_app  # noqa: E402
from tests.infra.helpers import Synthesized  # noqa: E402

STAGES = ("dev", "prod")


def _synthesize(stage: str, outdir: Path) -> Synthesized:
    app = App(outdir=str(outdir), context={"stage": stage})
    _, stack = build_app(app=app)
    assembly = app.synth()  # runs cdk-nag: an unacknowledged finding raises here
    template_path = Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path)
    data = json.loads(template_path.read_text())
    return Synthesized(stage_config(stage), outdir, Template.from_json(data), data)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory):
    cache: dict[str, Synthesized] = {}

    def get(stage: str) -> Synthesized:
        if stage not in cache:
            cache[stage] = _synthesize(stage, tmp_path_factory.mktemp(f"cdk-{stage}"))
        return cache[stage]

    return get


@pytest.fixture(params=STAGES)
def stack(request: pytest.FixtureRequest, synthesized) -> Synthesized:
    """Each test that takes ``stack`` runs once per stage."""
    return synthesized(request.param)


@pytest.fixture
def dev(synthesized) -> Synthesized:
    return synthesized("dev")


@pytest.fixture
def prod(synthesized) -> Synthesized:
    return synthesized("prod")
