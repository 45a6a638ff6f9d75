"""docs/operations.md describes the stack that is synthesized: the outputs it names exist, and
the counts behind its cost table are the templates'."""

from __future__ import annotations

import re

import pytest

from infra.stack import OUTPUT_ALARM_TOPIC, OUTPUT_JWT_SECRET, OUTPUT_ORIGIN_VERIFY, ROOT
from skills_ideas import deployment
from tests.infra.helpers import function_of_alias, functions_by_name

DOCS = ROOT / "docs"
#: The operator-facing documents that may name stack outputs.
OPERATOR_DOCS = ("operations.md", "runbook.md", "skills-catalogue.md", "migration.md")
#: Outputs an operator reads: each must be documented.
OPERATOR_OUTPUTS = {
    deployment.OUTPUT_API_URL,
    deployment.OUTPUT_CLOUDFRONT_URL,
    deployment.OUTPUT_TABLE,
    deployment.OUTPUT_BUCKET,
    deployment.OUTPUT_CATALOGUE_KEY,
    deployment.OUTPUT_DISTRIBUTION,
    OUTPUT_JWT_SECRET,
    OUTPUT_ALARM_TOPIC,
    OUTPUT_ORIGIN_VERIFY,
}
#: Names shaped like an output (`SomethingUrl`, `...Name`, `...Key`, `...Id`, `...Arn`).
OUTPUT_LIKE = re.compile(r"`([A-Z][a-z]+(?:[A-Z][a-z0-9]+)*(?:Url|Name|Key|Id|Arn))`")
#: Names of that shape the documents use for something else.
NOT_OUTPUTS = {"NoSuchKey"}  # S3's error code for a missing object


def _operations() -> str:
    return (DOCS / "operations.md").read_text(encoding="utf-8")


def _outputs_table(text: str) -> set[str]:
    section = text.split("### Stack outputs", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))


def test_the_outputs_table_lists_exactly_what_operators_read_and_each_exists(stack):
    outputs = set(stack.json["Outputs"])
    documented = _outputs_table(_operations())
    assert documented <= outputs, f"documented but not in the stack: {sorted(documented - outputs)}"
    assert documented >= OPERATOR_OUTPUTS, f"read by operators but undocumented: {OPERATOR_OUTPUTS - documented}"


@pytest.mark.parametrize("document", OPERATOR_DOCS)
def test_no_operator_document_names_an_output_the_stack_does_not_have(stack, document):
    text = (DOCS / document).read_text(encoding="utf-8")
    named = set(OUTPUT_LIKE.findall(text)) - NOT_OUTPUTS
    missing = named - set(stack.json["Outputs"])
    assert not missing, f"{document} names outputs that do not exist: {sorted(missing)}"


def _number(pattern: str) -> tuple[int, ...]:
    found = re.search(pattern, _operations())
    assert found, f"docs/operations.md no longer says {pattern!r}"
    return tuple(int(group.replace(",", "")) for group in found.groups())


def test_the_cost_table_counts_the_stacks_alarm_metrics(stack):
    count = 0
    for alarm in stack.of_type("AWS::CloudWatch::Alarm").values():
        queries = alarm["Properties"].get("Metrics")
        count += len([q for q in queries if "MetricStat" in q]) if queries else 1
    assert _number(r"(\d+) alarm metrics × \$0\.10") == (count,)


def test_the_cost_table_counts_the_web_acl_rules_and_the_secrets(stack):
    rules = {
        a["Properties"]["Scope"]: len(a["Properties"]["Rules"]) for a in stack.of_type("AWS::WAFv2::WebACL").values()
    }
    assert _number(r"edge web ACL \(\$5 \+ (\d+) rules") == (rules["CLOUDFRONT"],)
    assert _number(r"the stage's \(\$5 \+ (\d+) rule") == (rules["REGIONAL"],)
    assert _number(r"(\d+) secrets × \$0\.40") == (len(stack.of_type("AWS::SecretsManager::Secret")),)


def test_the_cost_table_has_prods_provisioned_capacity_and_concurrency(prod):
    ((_, table),) = prod.of_type("AWS::DynamoDB::GlobalTable").items()
    props = table["Properties"]
    (replica,) = props["Replicas"]

    def minimum(settings: dict, kind: str) -> int:
        return settings[f"{kind}ProvisionedThroughputSettings"][f"{kind}CapacityAutoScalingSettings"]["MinCapacity"]

    reads = minimum(replica, "Read") + sum(minimum(g, "Read") for g in replica["GlobalSecondaryIndexes"])
    writes = minimum(props, "Write") + sum(minimum(g, "Write") for g in props["GlobalSecondaryIndexes"])
    assert _number(r"provisioned minimum (\d+) RCU \+ (\d+) WCU") == (reads, writes)

    names = function_of_alias(prod)
    provisioned = {
        names[lid]: alias["Properties"]["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"]
        for lid, alias in prod.of_type("AWS::Lambda::Alias").items()
        if "ProvisionedConcurrencyConfig" in alias["Properties"]
    }
    (each,) = set(provisioned.values())
    memory = {prod.props(functions_by_name(prod)[name])["MemorySize"] for name in provisioned}
    assert memory == {1024}
    assert _number(r"Provisioned concurrency: (\d+) functions × (\d+) × 1 GB") == (len(provisioned), each)


# ------------------------------------------------------------------ multi-region failover alarms
#: A failover alarm as the documents write it, and their short form for one of them.
FAILOVER_ALARM = re.compile(r"`(skills-ideas-<stage>-<region>-[a-z0-9-]+)`")
SHORT_ALARM = re.compile(r"`\.\.\.(-[a-z0-9-]+)`")


def _section(document: str, heading: str) -> str:
    text = (DOCS / document).read_text(encoding="utf-8")
    assert heading in text, f"{document} no longer has {heading!r}"
    body = text.split(heading, 1)[1]
    level = heading.split(" ", 1)[0]
    return heading + re.split(rf"\n{level} |\n#{{1,{len(level) - 1}}} ", body, maxsplit=1)[0]


def _failover_alarm_sections() -> dict[str, str]:
    return {
        "runbook.md": _section("runbook.md", "## Region failover: drill and fail-back"),
        "multi-region.md": _section("multi-region.md", "### Alarms that start a failover or a fail-back"),
    }


def test_the_failover_alarms_the_docs_name_are_the_ones_every_region_has(multi_region):
    config = multi_region.config
    synthesized = {
        alarm["Properties"]["AlarmName"]
        for name in multi_region.stacks
        for alarm in multi_region.of_type(name, "AWS::CloudWatch::Alarm").values()
    }
    # the failover alarms: those named after a region of the stage
    failover = {name for name in synthesized if any(name.startswith(f"{config.prefix}-{r}-") for r in config.regions)}
    for document, section in _failover_alarm_sections().items():
        patterns = set(FAILOVER_ALARM.findall(section))
        documented = {
            pattern.replace("<stage>", config.stage).replace("<region>", region)
            for pattern in patterns
            for region in config.regions
        }
        assert documented - synthesized == set(), f"{document} names alarms no stack has"
        assert failover - documented == set(), f"{document} leaves failover alarms out"
        # a short form (`...-replication-latency`) stands for one of the names it lists
        for short in SHORT_ALARM.findall(section):
            assert any(pattern.endswith(short) for pattern in patterns), (document, short)
