"""``skills-ideas preflight --stage prod``: will a deploy of this stage succeed in this account?

Reads the stage's synthesized templates (``make preflight`` synthesizes them first, with your
settings) and makes read-only calls with your AWS credentials:

- the deployment settings baked into the template (CORS origin, alarm e-mails) are set, and
  are not the examples ``make synth`` uses;
- the account is bootstrapped for CDK, with a bootstrap version the templates accept;
- the Lambda concurrency quota covers what the stage reserves and provisions, with the 100
  unreserved executions Lambda always keeps;
- the stage's stack is in a state a deploy can start from;
- the AWS managed WAF rules the web ACL overrides (to answer in the JSON envelope) are the
  rules the managed groups have today;
- nothing else in the account already holds a name the stack gives its resources (a create
  would fail with "already exists").

Each finding says what to request or change. The exit code is 1 when the deploy would fail,
0 otherwise (warnings do not fail it). Nothing is created or changed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skills_ideas.deployment import stack_name

from . import assembly as assembly_templates

#: Lambda keeps this many executions of the account quota unreserved, always.
LAMBDA_UNRESERVED_MINIMUM = 100
#: Service Quotas code of "Concurrent executions" (Lambda).
CONCURRENCY_QUOTA_CODE = "L-B99A9384"
REGION = "us-east-1"
#: Stack states a deploy can start from without help.
DEPLOYABLE_STATES = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")


class PreflightError(RuntimeError):
    """The check cannot run (no templates, no credentials); the message says why."""


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str
    #: A failed blocking finding means the deploy would fail; otherwise it is a warning.
    blocking: bool = True

    @property
    def symbol(self) -> str:
        return "ok  " if self.ok else ("FAIL" if self.blocking else "warn")


# ------------------------------------------------------------------ what the templates say
@dataclass(frozen=True)
class Templates:
    """The synthesized stage: its stack's template, with its nested stacks' resources."""

    stage: str
    template: dict[str, Any]

    @property
    def stack_name(self) -> str:
        return stack_name(self.stage)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == resource_type}

    @classmethod
    def load(cls, assembly: Path, stage: str) -> Templates:
        path = assembly / f"{stack_name(stage)}.template.json"
        if not path.is_file() and (assembly / f"{stack_name(stage)}-global.template.json").is_file():
            raise PreflightError(
                f"{assembly} holds {stage} in several regions: preflight checks a single-region stage only "
                "(docs/multi-region.md, 'Not covered yet')"
            )
        if not path.is_file():
            raise PreflightError(f"{path} does not exist: synthesize the stage first (make preflight does)")
        # The stage's stack with its nested stack (the functions) read as one.
        return cls(stage, assembly_templates.load(path).merged())


def ref(value: Any) -> str | None:
    """The logical id a ``{"Ref": id}`` or ``{"Fn::GetAtt": [id, attr]}`` points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


@dataclass(frozen=True)
class ConcurrencyNeeds:
    """What a stage takes from the account's Lambda concurrency, by function name."""

    reserved: dict[str, int] = field(default_factory=dict)
    #: Provisioned concurrency of functions without a reservation (inside a reservation it
    #: takes nothing more).
    provisioned: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.reserved.values()) + sum(self.provisioned.values())

    @property
    def quota_needed(self) -> int:
        """The smallest account quota the stage deploys into, alone in the account."""
        return self.total + LAMBDA_UNRESERVED_MINIMUM if self.total else 0


def concurrency_needs(templates: Templates) -> ConcurrencyNeeds:
    functions = templates.of_type("AWS::Lambda::Function")
    names = {lid: r["Properties"].get("FunctionName", lid) for lid, r in functions.items()}
    reserved = {
        names[lid]: int(r["Properties"]["ReservedConcurrentExecutions"])
        for lid, r in functions.items()
        if r["Properties"].get("ReservedConcurrentExecutions") is not None
    }
    provisioned: dict[str, int] = {}
    for alias in templates.of_type("AWS::Lambda::Alias").values():
        config = alias["Properties"].get("ProvisionedConcurrencyConfig")
        function = names.get(ref(alias["Properties"]["FunctionName"]) or "")
        if config and function and function not in reserved:
            provisioned[function] = provisioned.get(function, 0) + int(config["ProvisionedConcurrentExecutions"])
    return ConcurrencyNeeds(reserved, provisioned)


def required_bootstrap_version(templates: Templates) -> tuple[str, int]:
    """(SSM parameter, minimum version) from the template's CheckBootstrapVersion rule."""
    parameter = templates.template.get("Parameters", {}).get("BootstrapVersion", {})
    name = parameter.get("Default", "/cdk-bootstrap/hnb659fds/version")
    rule = templates.template.get("Rules", {}).get("CheckBootstrapVersion", {})
    refused: list[int] = []
    for assertion in rule.get("Assertions", []):
        contains = assertion.get("Assert", {}).get("Fn::Not", [{}])[0].get("Fn::Contains", [[]])
        refused += [int(v) for v in contains[0] if str(v).isdigit()]
    return name, (max(refused) + 1 if refused else 0)


@dataclass(frozen=True)
class FixedName:
    resource_type: str
    name: str
    #: Extra lookup detail (the WAF scope).
    scope: str = ""


#: Resource type -> where its fixed physical name sits in the properties.
NAME_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::CodeDeploy::Application": ("ApplicationName",),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::CloudWatch::Alarm": ("AlarmName",),
    "AWS::CloudWatch::Dashboard": ("DashboardName",),
    "AWS::WAFv2::WebACL": ("Name",),
    "AWS::CloudFront::CachePolicy": ("CachePolicyConfig", "Name"),
    "AWS::CloudFront::ResponseHeadersPolicy": ("ResponseHeadersPolicyConfig", "Name"),
    "AWS::CloudFront::Function": ("Name",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::DynamoDB::Table": ("TableName",),
    "AWS::DynamoDB::GlobalTable": ("TableName",),
    "AWS::SecretsManager::Secret": ("Name",),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::IAM::Role": ("RoleName",),
}


def fixed_names(templates: Templates) -> list[FixedName]:
    """Every literal physical name in the stack (names built from other resources' ids are
    unique to the stack and cannot collide)."""
    found = []
    for resource in templates.resources.values():
        path = NAME_PROPERTIES.get(resource.get("Type", ""))
        if not path:
            continue
        value: Any = resource.get("Properties", {})
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            found.append(FixedName(resource["Type"], value, resource["Properties"].get("Scope", "")))
    return found


def deployment_settings(templates: Templates) -> tuple[set[str], set[str]]:
    """(CORS origins the functions answer with, e-mail addresses subscribed to the alarms)."""
    origins = {
        f["Properties"].get("Environment", {}).get("Variables", {}).get("CORS_ALLOW_ORIGIN")
        for f in templates.of_type("AWS::Lambda::Function").values()
    } - {None}
    emails = {
        s["Properties"]["Endpoint"]
        for s in templates.of_type("AWS::SNS::Subscription").values()
        if s["Properties"].get("Protocol") == "email"
    }
    return {str(o) for o in origins}, emails


# ------------------------------------------------------------------ the checks
def check_settings(templates: Templates, required: Iterable[str], is_example: Callable[[str], bool]) -> list[Finding]:
    """The origin and e-mails a stage deploys with (required ones must be real)."""
    required = set(required)
    origins, emails = deployment_settings(templates)
    findings = []
    origin = ", ".join(sorted(origins)) or "none"
    if len(origins) != 1:
        findings.append(Finding("settings", False, f"the functions disagree on the CORS origin ({origin})"))
    elif "corsOrigin" in required and (origins == {"*"} or is_example(next(iter(origins)))):
        findings.append(
            Finding(
                "settings",
                False,
                f"CORS origin {origin} is {'open to any site' if origins == {'*'} else 'the example value'}: "
                "set SKILLS_IDEAS_CORS_ORIGIN to the front end's origin (e.g. https://app.yourcompany.com)",
            )
        )
    else:
        findings.append(Finding("settings", True, f"CORS origin {origin}"))
    examples = sorted(e for e in emails if is_example(e))
    if examples:
        findings.append(
            Finding(
                "settings",
                False,
                f"alarm e-mails include example addresses ({', '.join(examples)}): "
                "set SKILLS_IDEAS_ALARM_EMAILS to the on-call addresses",
            )
        )
    elif not emails:
        findings.append(
            Finding(
                "settings",
                False,
                "no alarm e-mail: alarms would notify nobody; set SKILLS_IDEAS_ALARM_EMAILS",
                blocking="alarmEmails" in required,
            )
        )
    else:
        findings.append(
            Finding(
                "settings",
                True,
                f"alarms e-mail {', '.join(sorted(emails))} (each must confirm the subscription after the deploy)",
            )
        )
    return findings


def check_bootstrap(ssm: Any, templates: Templates, account: str) -> list[Finding]:
    parameter, required = required_bootstrap_version(templates)
    bootstrap = f"npx cdk bootstrap aws://{account}/{REGION}"
    try:
        version = int(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return [
            Finding(
                "bootstrap", False, f"the account is not bootstrapped for CDK ({parameter} missing): run {bootstrap}"
            )
        ]
    if version < required:
        return [
            Finding(
                "bootstrap",
                False,
                f"CDK bootstrap version {version} is older than the {required} these templates need: run {bootstrap}",
            )
        ]
    return [Finding("bootstrap", True, f"CDK bootstrap version {version} (templates need {required} or later)")]


def check_concurrency(lambda_client: Any, templates: Templates, deployed: bool) -> list[Finding]:
    needs = concurrency_needs(templates)
    limits = lambda_client.get_account_settings()["AccountLimit"]
    quota = int(limits["ConcurrentExecutions"])
    unreserved = int(limits["UnreservedConcurrentExecutions"])
    # What this stage reserves already (an update replaces it) is no one else's.
    ours_now = 0
    if deployed:
        for name in needs.reserved:
            try:
                ours_now += int(
                    lambda_client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") or 0
                )
            except lambda_client.exceptions.ResourceNotFoundException:
                continue
    others = max(0, quota - unreserved - ours_now)
    needed = needs.total
    what = ", ".join(
        [f"{name} reserves {n}" for name, n in sorted(needs.reserved.items())]
        + [f"{name} provisions {n}" for name, n in sorted(needs.provisioned.items())]
    )
    if needed == 0:
        return [Finding("concurrency", True, f"the stage reserves and provisions nothing (account quota {quota})")]
    available = quota - others - LAMBDA_UNRESERVED_MINIMUM
    if needed > available:
        request = others + needed + LAMBDA_UNRESERVED_MINIMUM
        return [
            Finding(
                "concurrency",
                False,
                f"the stage needs {needed} concurrent executions ({what}) but the account's Lambda quota of "
                f"{quota} leaves {max(0, available)} after the {LAMBDA_UNRESERVED_MINIMUM} Lambda keeps "
                f"unreserved and {others} reserved by other functions. Request a quota of at least {request}: "
                f"aws service-quotas request-service-quota-increase --service-code lambda "
                f"--quota-code {CONCURRENCY_QUOTA_CODE} --desired-value {request} --region {REGION}",
            )
        ]
    return [
        Finding(
            "concurrency",
            True,
            f"the stage needs {needed} of the account's {quota} concurrent executions ({what}); "
            f"{available - needed} stay free above the {LAMBDA_UNRESERVED_MINIMUM} unreserved",
        )
    ]


@dataclass(frozen=True)
class StackState:
    exists: bool
    status: str = ""
    #: Physical ids of the stack's resources (names it already owns).
    owned: frozenset[str] = frozenset()


def stack_state(cloudformation: Any, name: str) -> StackState:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return StackState(False)
        raise
    status = stacks[0]["StackStatus"]
    owned = {
        resource.get("PhysicalResourceId", "")
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
        for resource in page["StackResourceSummaries"]
    }
    return StackState(True, status, frozenset(owned))


def check_stack(state: StackState, name: str) -> list[Finding]:
    if not state.exists:
        return [Finding("stack", True, f"{name} does not exist yet: the deploy creates it")]
    if state.status == "ROLLBACK_COMPLETE":
        return [
            Finding(
                "stack",
                False,
                f"{name} is ROLLBACK_COMPLETE (a first create failed): cdk deploy deletes it and creates it "
                "again; nothing it created is left behind",
                blocking=False,
            )
        ]
    if state.status.endswith("_IN_PROGRESS"):
        return [Finding("stack", False, f"{name} is {state.status}: wait until it settles")]
    if state.status.endswith("_FAILED"):
        return [
            Finding(
                "stack",
                False,
                f"{name} is {state.status}: see docs/operations.md (Rollback) before deploying again",
            )
        ]
    return [Finding("stack", True, f"{name} is {state.status}")]


class NameLookup:
    """Whether a physical name is taken in the account, one read-only call per kind."""

    def __init__(self, session: Any, account: str) -> None:
        self._session = session
        self._account = account
        self._clients: dict[str, Any] = {}
        self._listed: dict[tuple[str, str], set[str]] = {}

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, region_name=REGION)
        return self._clients[service]

    def _listing(self, key: tuple[str, str], fetch: Callable[[], Iterable[str]]) -> set[str]:
        if key not in self._listed:
            self._listed[key] = set(fetch())
        return self._listed[key]

    def taken(self, fixed: FixedName) -> bool:
        from botocore.exceptions import ClientError

        kind, name = fixed.resource_type, fixed.name
        try:
            if kind == "AWS::Lambda::Function":
                self._client("lambda").get_function(FunctionName=name)
            elif kind == "AWS::CodeDeploy::Application":
                self._client("codedeploy").get_application(applicationName=name)
            elif kind == "AWS::SNS::Topic":
                arn = f"arn:aws:sns:{REGION}:{self._account}:{name}"
                self._client("sns").get_topic_attributes(TopicArn=arn)
            elif kind == "AWS::CloudWatch::Alarm":
                return name in self._listing(("alarms", ""), self._alarm_names)
            elif kind == "AWS::CloudWatch::Dashboard":
                entries = self._client("cloudwatch").list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
                return any(e["DashboardName"] == name for e in entries)
            elif kind == "AWS::WAFv2::WebACL":
                return name in self._listing(("waf", fixed.scope), lambda: self._web_acl_names(fixed.scope))
            elif kind == "AWS::CloudFront::CachePolicy":
                return name in self._listing(("cache-policies", ""), self._cache_policy_names)
            elif kind == "AWS::CloudFront::ResponseHeadersPolicy":
                return name in self._listing(("headers-policies", ""), self._headers_policy_names)
            elif kind == "AWS::CloudFront::Function":
                self._client("cloudfront").describe_function(Name=name)
            elif kind == "AWS::Logs::LogGroup":
                groups = self._client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
                return any(g["logGroupName"] == name for g in groups)
            elif kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
                self._client("dynamodb").describe_table(TableName=name)
            elif kind == "AWS::SecretsManager::Secret":
                self._client("secretsmanager").describe_secret(SecretId=name)
            elif kind == "AWS::S3::Bucket":
                self._client("s3").head_bucket(Bucket=name)
            elif kind == "AWS::IAM::Role":
                self._client("iam").get_role(RoleName=name)
            else:
                return False
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or re.search(r"NotFound|NoSuch|DoesNotExist|NotExist", code):
                return False
            raise
        return True

    def _alarm_names(self) -> Iterator[str]:
        for page in self._client("cloudwatch").get_paginator("describe_alarms").paginate():
            yield from (a["AlarmName"] for a in page["MetricAlarms"])
            yield from (a["AlarmName"] for a in page.get("CompositeAlarms", []))

    def _web_acl_names(self, scope: str) -> Iterator[str]:
        client = self._client("wafv2")
        marker: str | None = None
        while True:
            page = client.list_web_acls(Scope=scope or "REGIONAL", **({"NextMarker": marker} if marker else {}))
            yield from (acl["Name"] for acl in page.get("WebACLs", []))
            marker = page.get("NextMarker")
            if not marker or not page.get("WebACLs"):
                return

    def _cache_policy_names(self) -> Iterator[str]:
        items = self._client("cloudfront").list_cache_policies(Type="custom")["CachePolicyList"].get("Items", [])
        yield from (item["CachePolicy"]["CachePolicyConfig"]["Name"] for item in items)

    def _headers_policy_names(self) -> Iterator[str]:
        listing = self._client("cloudfront").list_response_headers_policies(Type="custom")
        items = listing["ResponseHeadersPolicyList"].get("Items", [])
        yield from (item["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Name"] for item in items)


def managed_rule_overrides(templates: Templates) -> dict[tuple[str, str, str], set[str]]:
    """(scope, vendor, group) -> the rule names the stack's web ACLs override in that group."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for acl in templates.of_type("AWS::WAFv2::WebACL").values():
        scope = acl["Properties"]["Scope"]
        for rule in acl["Properties"].get("Rules", []):
            group = rule.get("Statement", {}).get("ManagedRuleGroupStatement")
            if group:
                names = {o["Name"] for o in group.get("RuleActionOverrides", [])}
                found.setdefault((scope, group["VendorName"], group["Name"]), set()).update(names)
    return found


def check_managed_rules(wafv2: Any, templates: Templates) -> list[Finding]:
    """The stack overrides every rule of AWS's managed groups by name (to block in the JSON
    envelope, or to count); the groups change over time."""
    findings = []
    for (scope, vendor, group), overridden in sorted(managed_rule_overrides(templates).items()):
        described = wafv2.describe_managed_rule_group(VendorName=vendor, Name=group, Scope=scope)
        rules = {rule["Name"] for rule in described.get("Rules", [])}
        unknown, new = sorted(overridden - rules), sorted(rules - overridden)
        if unknown:
            findings.append(
                Finding(
                    "waf",
                    False,
                    f"{group} ({scope}) no longer has the rules {', '.join(unknown)} that the web ACL overrides: "
                    "remove them from MANAGED_RULES in infra/components/waf.py",
                )
            )
        if new:
            findings.append(
                Finding(
                    "waf",
                    False,
                    f"{group} ({scope}) has rules the web ACL does not override: {', '.join(new)}; they block "
                    "with WAF's default page, not the JSON envelope: add them to MANAGED_RULES",
                    blocking=False,
                )
            )
        if not unknown and not new:
            findings.append(Finding("waf", True, f"{group} ({scope}): all {len(rules)} rules answer in the envelope"))
    return findings


def check_account_settings(apigateway: Any, state: StackState, account_stack: str) -> list[Finding]:
    """API Gateway's account-wide CloudWatch role: set by the account settings stack."""
    if state.exists:
        return [Finding("account", True, f"{account_stack} is {state.status}")]
    current = apigateway.get_account().get("cloudwatchRoleArn")
    if current:
        return [
            Finding(
                "account",
                False,
                f"the deploy creates {account_stack}, which replaces API Gateway's CloudWatch logging role of this "
                f"account and region ({current}, shared by every REST API here) with its own",
                blocking=False,
            )
        ]
    return [Finding("account", True, f"the deploy creates {account_stack} (API Gateway's logging role) first")]


def check_names(lookup: NameLookup, templates: Templates, state: StackState) -> list[Finding]:
    """Names a create would find taken. Names the stage's own stack holds are its own."""
    if state.exists and state.status != "ROLLBACK_COMPLETE":
        candidates = [f for f in fixed_names(templates) if f.name not in state.owned]
    else:
        candidates = fixed_names(templates)
    taken = [f for f in candidates if lookup.taken(f)]
    if taken:
        listed = "; ".join(f"{f.resource_type} {f.name}" for f in taken)
        return [
            Finding(
                "names",
                False,
                f"{len(taken)} name(s) the stack creates already exist outside it: {listed}. Delete them "
                "(leftovers of an earlier deploy) or deploy the stage under another name",
            )
        ]
    return [Finding("names", True, f"none of the stack's {len(candidates)} fixed names is taken")]


# ------------------------------------------------------------------ running it
def _infra_config() -> Any:
    """infra/config.py: the stages' required settings, the example values, the account stack's
    name. The repository's infra package sits next to this one and needs no CDK to import."""
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.append(root)
    from infra import config

    return config


def run_checks(session: Any, templates: Templates) -> list[Finding]:
    config = _infra_config()
    findings = check_settings(templates, config.STAGES[templates.stage].required_settings, config.is_example)
    account = session.client("sts", region_name=REGION).get_caller_identity()["Account"]
    findings += check_bootstrap(session.client("ssm", region_name=REGION), templates, account)
    cloudformation = session.client("cloudformation", region_name=REGION)
    findings += check_account_settings(
        session.client("apigateway", region_name=REGION),
        stack_state(cloudformation, config.ACCOUNT_STACK_NAME),
        config.ACCOUNT_STACK_NAME,
    )
    state = stack_state(cloudformation, templates.stack_name)
    findings += check_stack(state, templates.stack_name)
    findings += check_managed_rules(session.client("wafv2", region_name=REGION), templates)
    findings += check_concurrency(
        session.client("lambda", region_name=REGION),
        templates,
        deployed=state.exists and state.status != "ROLLBACK_COMPLETE",
    )
    findings += check_names(NameLookup(session, account), templates, state)
    return findings


def report(findings: list[Finding], stage: str) -> int:
    for finding in findings:
        print(f"[{finding.symbol}] {finding.check}: {finding.message}")
    failed = [f for f in findings if not f.ok and f.blocking]
    if failed:
        print(f"\n{len(failed)} problem(s): a deploy of {stage} would fail. Fix them and run make preflight again.")
        return 1
    print(f"\nReady: make deploy STAGE={stage}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="read-only checks of an AWS account before deploying a stage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stage", required=True, help="the stage to check (dev, prod)")
    parser.add_argument("--assembly", type=Path, help="the synthesized cloud assembly (default: cdk.out/<stage>)")
    parser.add_argument("--profile", help="AWS profile to use")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        templates = Templates.load(args.assembly or Path("cdk.out") / args.stage, args.stage)
        findings = run_checks(boto3.Session(profile_name=args.profile, region_name=REGION), templates)
    except (PreflightError, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return report(findings, args.stage)
