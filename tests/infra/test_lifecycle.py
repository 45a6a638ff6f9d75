"""What deploys leave behind: a layer change reaches every function, a failed first deploy can be
run again, and a disposable stage goes away whole."""

from __future__ import annotations

import shutil

import pytest

from infra import layer_build
from infra.stack import ROOT, cdk_json_context
from tests.infra.helpers import functions_by_name, ref

#: Properties that give a resource a fixed physical name.
NAME_KEYS = ("TableName", "Name", "BucketName", "LogGroupName", "LayerName", "FunctionName", "RoleName", "TopicName")
RETAINED = ("Retain", "RetainExceptOnCreate", "Snapshot")


def _versions(stack) -> dict[str, str]:
    """Function name -> logical id of the version its `live` alias points at."""
    by_lid = {lid: name for name, lid in functions_by_name(stack).items()}
    versions = stack.of_type("AWS::Lambda::Version")
    found = {}
    for alias in stack.of_type("AWS::Lambda::Alias").values():
        version = ref(alias["Properties"]["FunctionVersion"])
        function = by_lid[ref(alias["Properties"]["FunctionName"])]
        assert ref(versions[version]["Properties"]["FunctionName"]) == functions_by_name(stack)[function]
        found[function] = version
    return found


@pytest.mark.parametrize(
    ("layer", "context_key", "source"),
    [
        ("common", "common_layer_dir", ROOT / "layers" / "common"),
        ("dependencies", "dependencies_layer_dir", layer_build.DEFAULT_OUT),
    ],
)
def test_a_change_to_either_layer_publishes_a_new_version_of_every_function(
    dev, variant, tmp_path_factory, layer, context_key, source
):
    # The flag that makes it so is cdk.json's, as the CLI passes it.
    assert cdk_json_context()["@aws-cdk/aws-lambda:recognizeLayerVersion"] is True
    # Given the same stage built from a copy of one layer with one file changed
    changed = tmp_path_factory.mktemp(f"{layer}-layer") / "layer"
    shutil.copytree(source, changed, ignore=shutil.ignore_patterns("__pycache__"))
    (changed / "python" / "layer_change.txt").write_text("a change only this layer carries\n", encoding="utf-8")
    other = variant(f"{layer}-layer-changed", "dev", context={context_key: str(changed)})
    # When both are compared
    before, after = _versions(dev), _versions(other)
    # Then every function's `live` alias points at a new version (a new version resource: its
    # logical id changes), so CodeDeploy shifts every alias to code that sees the change...
    assert set(before) == set(after) == set(functions_by_name(dev))
    unchanged = sorted(name for name in before if before[name] == after[name])
    assert not unchanged, f"a {layer} layer change would not reach: {unchanged}"
    # ...while the functions' own code is the same
    for name, lid in functions_by_name(dev).items():
        assert dev.props(lid)["Code"] == other.props(functions_by_name(other)[name])["Code"], name


def _retained(template: dict) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r.get("DeletionPolicy") in RETAINED}


def test_retained_resources_go_when_a_first_create_fails_and_never_hold_a_fixed_name(stack):
    # A retained resource with a fixed name survives a rolled-back first create (and `cdk
    # destroy`), and the next create fails with "already exists".
    for template in (stack.json, stack.account):
        for lid, resource in _retained(template).items():
            assert resource["DeletionPolicy"] == "RetainExceptOnCreate", lid
            fixed = {key: value for key in NAME_KEYS if isinstance(value := resource["Properties"].get(key), str)}
            assert not fixed, f"{lid} is retained under the fixed name {fixed}"
    if stack.config.retain_data:
        retained_types = {r["Type"] for r in _retained(stack.json).values()}
        assert {"AWS::DynamoDB::GlobalTable", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"} <= retained_types


def test_a_disposable_stage_goes_away_whole(dev):
    # Nothing is retained, not even the alarm topic's KMS key (kms.Key keeps itself by default)...
    assert not _retained(dev.json)
    (key,) = dev.of_type("AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Delete"
    # ...and every function logs into a group of the stack, custom resource providers
    # included: a group Lambda creates on its own at first run would outlive the stack.
    groups = dev.of_type("AWS::Logs::LogGroup")
    named_after = {
        ref(group["Properties"]["LogGroupName"]["Fn::Join"][1][1])
        for group in groups.values()
        if isinstance(group["Properties"].get("LogGroupName"), dict)
        and group["Properties"]["LogGroupName"]["Fn::Join"][1][0] == "/aws/lambda/"
    }
    for lid, function in dev.of_type("AWS::Lambda::Function").items():
        configured = ref(function["Properties"].get("LoggingConfig", {}).get("LogGroup"))
        assert configured in groups or lid in named_after, f"{lid} would create its own log group"
    # The provider that empties the buckets on deletion logs into a group deleted after it ran.
    cleanup_groups = {
        lid for lid, group in groups.items() if isinstance(group["Properties"].get("LogGroupName"), dict)
    } - {lid for lid in groups if "Execution" in lid}
    for lid, resource in dev.of_type("Custom::S3AutoDeleteObjects").items():
        assert cleanup_groups & set(resource.get("DependsOn", [])), lid
