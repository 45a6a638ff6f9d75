"""``make sam-env``: env.json that points every function of a synthesized template at the
services of ``make dev``, as a Lambda container started by ``sam local invoke`` reaches them.

The template is an excerpt of ``cdk.out/dev/SkillsIdeas-dev.template.json`` (three API
functions, a CDK custom-resource handler and an alias), so the test needs no synth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from skills_ideas_tools import sam_env
from skills_ideas_tools.cli import main
from skills_ideas_tools.local_env import LocalServices
from tests.support import serving

FIXTURE = Path(__file__).parent / "data" / "SkillsIdeas-dev.template.json"
TEMPLATE = json.loads(FIXTURE.read_text())
OURS = {
    "FunctionsAuthorizer453D4F28": "authorizer",
    "FunctionsHealthDB2A1BB2": "health",
    "FunctionsCreateSkill89FE1A41": "create_skill",
}


@pytest.fixture
def services(tmp_path):
    """The services a running `make dev` publishes (DynamoDB Local and moto's S3 on loopback)."""
    return LocalServices(
        state_dir=tmp_path,
        engine="dynamodb-local",
        dynamodb_endpoint="http://127.0.0.1:8123",
        s3_endpoint="http://127.0.0.1:5123",
        region="us-east-1",
    )


def test_every_api_function_of_the_template_gets_the_local_services(services):
    env = sam_env.env_file(TEMPLATE, services)

    # one entry per API function, keyed by its logical id; CDK's own handler is left out
    assert set(env) == set(OURS)
    for logical_id, values in env.items():
        assert all(isinstance(value, str) for value in values.values()), logical_id
        # the services as a container reaches the host
        assert values["DYNAMODB_ENDPOINT_URL"] == "http://host.docker.internal:8123"
        assert values["S3_ENDPOINT_URL"] == "http://host.docker.internal:5123"
        assert values["AWS_ENDPOINT_URL_DYNAMODB"] == "http://host.docker.internal:8123"
        # make dev's table, bucket and signing key
        assert values["TABLE_NAME"] == services.table_name
        assert values["CATALOGUE_BUCKET"] == services.bucket
        assert values["JWT_SECRET"] == (services.state_dir / "jwt-secret").read_text().strip()
        # no credentials: SAM passes the shell's, and a file of keys is one to leak
        assert not {name for name in values if name.startswith("AWS_") and "ENDPOINT_URL" not in name}
    # the cloud-only settings a function declares are blanked: no Secrets Manager, no CloudFront
    assert env["FunctionsAuthorizer453D4F28"]["JWT_SECRET_NAME"] == ""
    assert env["FunctionsCreateSkill89FE1A41"]["CDN_DISTRIBUTION_ID"] == ""
    assert "JWT_SECRET_NAME" not in env["FunctionsHealthDB2A1BB2"]


def test_another_host_for_docker_host_networking(services):
    env = sam_env.env_file(TEMPLATE, services, host="127.0.0.1")
    assert {values["S3_ENDPOINT_URL"] for values in env.values()} == {"http://127.0.0.1:5123"}


def test_the_sam_ready_copy_declares_what_the_template_lacks(services):
    # SAM applies only the variables a function's template declares
    env = sam_env.env_file(TEMPLATE, services)
    missing = sam_env.undeclared(TEMPLATE, env)
    assert "DYNAMODB_ENDPOINT_URL" in missing["FunctionsHealthDB2A1BB2"]
    assert "JWT_SECRET" in missing["FunctionsAuthorizer453D4F28"]

    ready = sam_env.with_declarations(TEMPLATE, env)
    assert sam_env.undeclared(ready, env) == {}
    for logical_id in OURS:
        variables = ready["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        original = TEMPLATE["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        assert {name: variables[name] for name in original} == original  # the rest is untouched
        assert variables["DYNAMODB_ENDPOINT_URL"] == ""
    assert (
        ready["Resources"]["FunctionsHealthDB2A1BB2"]["Metadata"]
        == TEMPLATE["Resources"]["FunctionsHealthDB2A1BB2"]["Metadata"]
    )  # SAM finds the code through the asset path


def test_sam_env_reads_the_ports_of_the_running_dev_server(tmp_path, capsys):
    template = tmp_path / "cdk.out" / "SkillsIdeas-dev.template.json"
    template.parent.mkdir()
    shutil.copy(FIXTURE, template)
    out = tmp_path / "env.json"
    state = tmp_path / "state"

    with serving(state):
        running = json.loads((state / "services.json").read_text())
        code = main(["sam-env", "--template", str(template), "--out", str(out), "--state-dir", str(state)])

    assert code == 0
    env = json.loads(out.read_text())
    port = running["s3_endpoint"].rsplit(":", 1)[1]
    assert {values["S3_ENDPOINT_URL"] for values in env.values()} == {f"http://host.docker.internal:{port}"}
    ready = template.with_name("SkillsIdeas-dev.local.template.json")
    assert sam_env.undeclared(json.loads(ready.read_text()), env) == {}
    commands = capsys.readouterr().out.splitlines()
    assert f"sam local invoke -t {ready} FunctionsHealthDB2A1BB2 -e events/health.json -n {out}" in commands
    assert len(commands) == len(OURS)


def test_sam_env_without_a_running_dev_server_says_what_to_do(tmp_path, capsys):
    code = main(
        ["sam-env", "--template", str(FIXTURE), "--out", str(tmp_path / "env.json"), "--state-dir", str(tmp_path)]
    )
    assert code == 1
    assert "make dev is not running" in capsys.readouterr().err
    assert not (tmp_path / "env.json").exists()


def test_the_stages_template_leads_to_the_nested_template_that_holds_the_functions(tmp_path):
    # The stage's stack keeps its functions in a nested stack, named by asset metadata
    stage = tmp_path / "SkillsIdeas-dev.template.json"
    nested = tmp_path / "SkillsIdeasdevFunctionsD28BBC8E.nested.template.json"
    shutil.copy(FIXTURE, nested)
    stage.write_text(
        json.dumps(
            {
                "Resources": {
                    "FunctionsNestedStackResource": {
                        "Type": "AWS::CloudFormation::Stack",
                        "Metadata": {"aws:asset:path": nested.name, "aws:asset:property": "TemplateURL"},
                    }
                }
            }
        )
    )
    assert sam_env.functions_template(stage) == nested
    assert sam_env.functions_template(nested) == nested
    with pytest.raises(sam_env.SamEnvError, match="run make synth"):
        sam_env.functions_template(tmp_path / "absent.template.json")
