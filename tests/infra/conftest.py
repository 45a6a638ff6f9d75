"""Synthesize each stage once per test session; every infrastructure test reads that result.

CDK synth is slow (seconds per stage), so the app is built once per stage, with cdk-nag on,
cdk.json's feature flags (as the CLI passes them) and the example deployment settings, into a
temporary cloud assembly; tests read the template JSON through ``aws_cdk.assertions`` and the
plain dict: the stage's stack and its nested stacks merged into one template
(``skills_ideas_tools.assembly``), each stack's own template in ``Synthesized.stacks``.
A few tests compare the stage with a variant of it (a changed layer, a changed
authorizer): ``variant`` synthesizes each variant once too.
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
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from aws_cdk import App  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from infra.config import (  # noqa: E402
    EXAMPLE_REGION_SETTINGS,
    MULTI_REGION_EXAMPLE_STAGE,
    StageConfig,
    deployment_config,
    example_settings,
)
from infra.stack import build_app, cdk_json_context  # noqa: E402
from skills_ideas_tools import assembly as assembly_templates  # noqa: E402
from tests.infra.helpers import MultiRegionApp, Synthesized  # noqa: E402

STAGES = ("dev", "prod")


def _synthesize(
    stage: str, outdir: Path, *, context: dict[str, Any] | None = None, config: StageConfig | None = None
) -> Synthesized:
    # The example settings of the stage (prod's), as `make synth` gives them.
    examples = example_settings(stage)
    # Asset metadata as the CLI adds it: it names each nested stack's template file.
    cli = {"aws:cdk:enable-asset-metadata": True}
    app = App(outdir=str(outdir), context={**cdk_json_context(), **cli, **examples, "stage": stage, **(context or {})})
    _, stack = build_app(app=app, config=config)
    assembly = app.synth()  # runs cdk-nag: an unacknowledged finding raises here
    # The stage's stack with its nested stacks (the functions'), read as one template.
    stacks = assembly_templates.load(Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path))
    data = stacks.merged()
    assert stack.account_stack is not None
    account = json.loads(
        Path(assembly.get_stack_artifact(stack.account_stack.artifact_id).template_full_path).read_text()
    )
    return Synthesized(
        config or deployment_config(stage, examples), outdir, Template.from_json(data), data, account, stacks
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Synthesized]:
    cache: dict[str, Synthesized] = {}

    def get(stage: str) -> Synthesized:
        if stage not in cache:
            cache[stage] = _synthesize(stage, tmp_path_factory.mktemp(f"cdk-{stage}"))
        return cache[stage]

    return get


@pytest.fixture(scope="session")
def multi_region(tmp_path_factory: pytest.TempPathFactory) -> MultiRegionApp:
    """The multi-region example `make synth` checks: prod in the example regions and hosted zone."""
    stage = MULTI_REGION_EXAMPLE_STAGE
    settings = {**example_settings(stage), **EXAMPLE_REGION_SETTINGS}
    outdir = tmp_path_factory.mktemp("cdk-multi-region")
    cli = {"aws:cdk:enable-asset-metadata": True}
    app = App(outdir=str(outdir), context={**cdk_json_context(), **cli, **settings, "stage": stage})
    build_app(app=app)
    assembly = app.synth()  # cdk-nag runs here too
    return MultiRegionApp(
        deployment_config(stage, settings),
        outdir,
        {s.stack_name: assembly_templates.load(Path(s.template_full_path)) for s in assembly.stacks},
        {s.stack_name: s.environment.region for s in assembly.stacks},
    )


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Synthesized]:
    """``variant(name, stage, context=..., config=...)``: the stage synthesized with other
    sources (CDK context such as ``common_layer_dir``) or another configuration, once per name."""
    cache: dict[str, Synthesized] = {}

    def get(
        name: str, stage: str, *, context: dict[str, Any] | None = None, config: StageConfig | None = None
    ) -> Synthesized:
        if name not in cache:
            outdir = tmp_path_factory.mktemp(f"cdk-{stage}-{name}")
            cache[name] = _synthesize(stage, outdir, context=context, config=config)
        return cache[name]

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
