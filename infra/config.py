"""Every name, size and threshold of the stack, per stage, in one place.

A stage is chosen with CDK context: ``cdk synth -c stage=prod`` (default ``dev``). Each stage is
one typed, frozen object; constructs read it and hard-code nothing.

Deployment settings (the front end's origin, the on-call e-mails) are not in the repository:
they come from CDK context or the environment (``SETTINGS``), and a stage that needs them
refuses to synthesize without them (``deployment_config``).

Region: the stack lives in us-east-1. CloudFront only accepts a WAF web ACL created in
us-east-1 and publishes its metrics (and so its alarms) only there; keeping the whole stack in
that region makes the CloudFront WAF, the CloudFront alarms and the API one stack with plain
references, instead of a second stack tied to this one by cross-region custom resources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from skills_ideas import deployment

#: Where CloudFront-scoped resources (web ACL, metrics, alarms) must live.
CLOUDFRONT_REGION = "us-east-1"
SERVICE_NAME = "skills-ideas"
METRICS_NAMESPACE = "SkillsIdeas"
#: The per-account, per-region settings every stage relies on (API Gateway's CloudWatch role).
ACCOUNT_STACK_NAME = "SkillsIdeas-account"

#: Business events the handlers emit through Powertools (namespace METRICS_NAMESPACE,
#: dimensions service=SERVICE_NAME and stage=<stage>), one count per outcome.
BUSINESS_EVENTS: tuple[str, ...] = (
    "UserRegistered",
    "LoginSucceeded",
    "LoginFailed",
    "TokenRefreshed",
    "IdeaCreated",
    "IdeaUpdated",
    "IdeaDeleted",
    "SkillCreated",
    "SkillUpdated",
    "SkillDeleted",
)
#: How the skills catalogue is doing (skills_ideas.catalogue / catalogue_edits): reads served
#: from a function's cached copy because S3 failed, lost compare-and-swap rounds, admin writes
#: that gave up after every attempt, and edge invalidations that failed after a write.
CATALOGUE_METRICS: tuple[str, ...] = (
    "CatalogueStaleServed",
    "CatalogueWriteConflict",
    "CatalogueWriteGaveUp",
    "CdnInvalidationFailed",
)
#: The event backbone (docs/events.md): events put on the bus, redeliveries the consumers
#: recognised, and catalogue events that could not be published after a write.
EVENT_METRICS: tuple[str, ...] = ("EventPublished", "EventAlreadyApplied", "EventPublishFailed")
#: Deployment settings: CDK context key -> environment variable read when the key is not given.
SETTINGS: dict[str, str] = {
    "corsOrigin": "SKILLS_IDEAS_CORS_ORIGIN",
    "alarmEmails": "SKILLS_IDEAS_ALARM_EMAILS",
}
#: Multi-region settings (docs/multi-region.md, "The stack"): CDK context key -> environment
#: variable. Without ``regions`` (or with one region) a stage is the single-region stack.
REGION_SETTINGS: dict[str, str] = {
    "regions": "SKILLS_IDEAS_REGIONS",
    "hostedZoneId": "SKILLS_IDEAS_HOSTED_ZONE_ID",
    "hostedZoneName": "SKILLS_IDEAS_HOSTED_ZONE_NAME",
}
#: What each setting is, for the message of a stage that lacks it.
SETTING_HELP: dict[str, str] = {
    "corsOrigin": "the one origin allowed to call the API from a browser, e.g. https://app.example.org",
    "alarmEmails": "comma-separated e-mail addresses that receive the alarms",
    "regions": "comma-separated AWS regions, the primary (home) region first, e.g. us-east-1,eu-west-1",
    "hostedZoneId": "the Route 53 hosted zone that holds the API's latency-routed origin name, e.g. Z0123456789ABC",
    "hostedZoneName": "that hosted zone's domain, e.g. example.org (the origin is api-origin-<stage>.<domain>)",
}
#: EXAMPLES ONLY, for offline checks (`make synth`, the infrastructure tests): they let a stage
#: that requires settings synthesize. Never deploy with them; `make preflight` rejects them.
EXAMPLE_SETTINGS: dict[str, str] = {
    "corsOrigin": "https://app.example.com",
    "alarmEmails": "oncall@example.com",
}
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
#: EXAMPLES ONLY: the two-region deployment `make synth` checks offline (cdk.out/<stage>-multi-region).
EXAMPLE_REGION_SETTINGS: dict[str, str] = {
    "regions": "us-east-1,eu-west-1",
    "hostedZoneId": "Z00000000EXAMPLE",
    "hostedZoneName": "example.com",
}
#: The stage `make synth` also synthesizes with EXAMPLE_REGION_SETTINGS.
MULTI_REGION_EXAMPLE_STAGE = "prod"


def example_settings(stage: str) -> dict[str, str]:
    """The example values of the settings ``stage`` requires (none for a stage that requires none)."""
    return {key: EXAMPLE_SETTINGS[key] for key in STAGES[stage].required_settings}


def example_context(stage: str, *, multi_region: bool = False) -> str:
    """``example_settings`` as CDK CLI arguments (``-c key=value ...``), for `make synth`; with
    ``multi_region``, the example regions and hosted zone too."""
    settings = {**example_settings(stage), **(EXAMPLE_REGION_SETTINGS if multi_region else {})}
    return " ".join(f"-c {key}={value}" for key, value in settings.items())


_ORIGIN = re.compile(r"https://[a-z0-9.-]+(:[0-9]{1,5})?")
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]")
_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")
_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[a-z]{2,}", re.IGNORECASE)


class SettingsError(ValueError):
    """A stage cannot be synthesized with the settings given; the message says what to set."""


#: The security audit trail (skills_ideas.audit): logins refused with 429, wrong passwords on a
#: password change or deletion, password changes, sessions ended, accounts deleted, role changes.
SECURITY_METRICS: tuple[str, ...] = (
    "LoginLockedOut",
    "PasswordCheckFailed",
    "PasswordChanged",
    "SessionEnded",
    # A rotated refresh token presented again: its whole session ended (docs/accounts.md).
    "RefreshTokenReused",
    "AccountDeleted",
    "RoleChanged",
    # Ideas of deleted accounts removed by the scheduled sweep (skills_ideas.routes.SCHEDULES).
    "DeletedAccountIdeasRemoved",
)
#: Every application metric on the dashboard.
BUSINESS_METRICS: tuple[str, ...] = BUSINESS_EVENTS + CATALOGUE_METRICS + EVENT_METRICS + SECURITY_METRICS


@dataclass(frozen=True)
class FunctionSettings:
    memory_mb: int = 512
    timeout_seconds: int = 10
    #: Concurrency set aside for (and capping) one function. Every reservation leaves less of
    #: the account's quota to the others, and Lambda always keeps 100 unreserved: keep None
    #: unless a function must be capped (per-client limits are the WAF's job).
    reserved_concurrency: int | None = None
    #: Provisioned concurrency of the `live` alias: this many environments kept initialized.
    #: A fixed number, not autoscaled: Application Auto Scaling cannot change provisioned
    #: concurrency while CodeDeploy weights the alias during a canary (Lambda refuses with
    #: "Alias with weights can not be used with Provisioned Concurrency"), and traffic beyond
    #: it is served on demand anyway.
    provisioned: int | None = None


@dataclass(frozen=True)
class Capacity:
    """Provisioned capacity of the table or one GSI, auto scaled on utilization."""

    read_min: int
    read_max: int
    write_min: int
    write_max: int


@dataclass(frozen=True)
class TableSettings:
    on_demand: bool
    #: Used when not on demand: the table's own capacity and each GSI's.
    table_capacity: Capacity = Capacity(5, 50, 5, 50)
    index_capacity: Capacity = Capacity(5, 50, 5, 50)
    target_utilization_percent: int = 70
    point_in_time_recovery: bool = True
    deletion_protection: bool = False
    contributor_insights: bool = False


@dataclass(frozen=True)
class ApiThrottle:
    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class ClientLimits:
    """WAF rate-based rules at the edge, per client address (the viewer's IP as CloudFront
    sees it), counted over ``window_seconds``. They stop one client, never everyone."""

    window_seconds: int = 300
    #: Any request.
    requests: int = 2000
    #: POST /api/login: credential stuffing.
    logins: int = 100
    #: POST /api/register: account farming.
    registrations: int = 100


@dataclass(frozen=True)
class AlarmThresholds:
    #: Counts are per 5-minute period, alarming when 3 of the last 5 periods breach.
    api_5xx_errors: int = 5
    api_latency_p99_ms: int = 3000
    lambda_errors: int = 5
    lambda_throttles: int = 1
    #: A CodeDeploy shift rolls back when the `live` alias fails this share of its invocations
    #: (percent) with at least ``deploy_rollback_min_errors`` errors in a minute, in
    #: ``deploy_rollback_datapoints`` of the last ``deploy_rollback_periods`` minutes: one
    #: transient error must not undo a deploy of every function.
    deploy_rollback_error_rate_percent: float = 5.0
    deploy_rollback_min_errors: int = 3
    deploy_rollback_datapoints: int = 2
    deploy_rollback_periods: int = 3
    dynamodb_throttled_requests: int = 10
    dynamodb_system_errors: int = 1
    #: CloudFront's 5xxErrorRate metric is a percentage of requests.
    cloudfront_5xx_rate_percent: float = 1.0
    #: Skill reads answered from a function's cached catalogue because S3 failed (per period,
    #: 3 of 5 periods): a transient S3 error is absorbed, a sustained outage is not.
    catalogue_stale_served: int = 10
    #: Admin catalogue writes that lost every compare-and-swap attempt (409 to the admin), per
    #: period; one period breaching is enough: each one is an edit that was not saved.
    catalogue_write_gave_up: int = 0
    catalogue_write_gave_up_datapoints: int = 1
    #: Failed logins (LoginFailed) and lockouts (LoginLockedOut) per 5 minutes across all
    #: accounts: far above people mistyping, the mark of a guessing campaign (docs/accounts.md).
    login_failures: int = 200
    login_lockouts: int = 20
    #: Multi-region (per minute, ``region_alarm_datapoints`` of ``region_alarm_periods``): table
    #: replication to another region slower than this (the RPO promise of docs/multi-region.md),
    #: and a region's API answering at least this share of requests with 5xx. Either starts the
    #: failover drill.
    replication_latency_seconds: int = 60
    region_5xx_rate_percent: float = 5.0
    region_alarm_periods: int = 5
    region_alarm_datapoints: int = 3
    #: Multi-region: a region's Route 53 health check unhealthy (every checker's verdict, each
    #: minute) for this many minutes in a row alarms; traffic has moved by then already.
    health_check_unhealthy_minutes: int = 1


@dataclass(frozen=True)
class StageConfig:
    stage: str
    #: The primary (home) region: CloudFront's, where registrations are written.
    region: str = CLOUDFRONT_REGION
    #: Every region that serves the API, the primary first; one region = the single-region
    #: stack (docs/multi-region.md). Set by the ``regions`` setting.
    regions: tuple[str, ...] = (CLOUDFRONT_REGION,)
    #: Multi-region only: the Route 53 hosted zone (id, domain) of the latency-routed origin name.
    hosted_zone_id: str | None = None
    hosted_zone_name: str | None = None
    retain_data: bool = False
    log_retention_days: int = 30
    #: CORS: the origin allowed to call the API ("*" = any). The handlers answer with one
    #: Access-Control-Allow-Origin value (CORS_ALLOW_ORIGIN), so this holds one entry; a stage
    #: listed in ``required_settings`` gets it from the corsOrigin setting.
    cors_origins: tuple[str, ...] = ("*",)
    #: Deployment settings this stage cannot be synthesized without (keys of SETTINGS).
    required_settings: tuple[str, ...] = ()
    authorizer_cache_ttl_seconds: int = 300
    #: A ceiling for the whole stage that protects the table from any flood; it is shared by
    #: every caller, so it sits far above normal traffic. Per-client limits: ``client_limits``.
    stage_throttle: ApiThrottle = ApiThrottle(100, 200)
    client_limits: ClientLimits = ClientLimits()
    default_function: FunctionSettings = FunctionSettings()
    #: Per-function overrides of default_function, by function name.
    functions: dict[str, FunctionSettings] = field(default_factory=dict)
    #: CodeDeploy traffic shifting of every `live` alias.
    canary_deploys: bool = False
    table: TableSettings = TableSettings(on_demand=True)
    alarms: AlarmThresholds = AlarmThresholds()
    alarm_emails: tuple[str, ...] = ()
    #: JWT claims (the signing key itself is generated in Secrets Manager).
    jwt_issuer: str = "skills-ideas"
    jwt_audience: str = "skills-ideas-api"
    catalogue_key: str = "catalogue/skills.json"
    #: Cache-Control of the deployed default catalogue object (served at /catalogue/skills.json).
    catalogue_cache_control: str = "public, max-age=60, stale-while-revalidate=300"
    #: CloudFront TTLs of the public skill reads under /api/skills*.
    skills_cache_default_ttl_seconds: int = 60
    skills_cache_max_ttl_seconds: int = 300
    #: CloudFront additional metrics (cache hit rate, origin latency) are billed per month.
    cloudfront_additional_metrics: bool = False

    def __post_init__(self) -> None:
        if self.region != CLOUDFRONT_REGION:
            raise ValueError(
                f"stage {self.stage}: region must be {CLOUDFRONT_REGION} (CloudFront's WAF and "
                "metrics live there; see infra/config.py)"
            )
        if len(self.cors_origins) > 1:
            raise ValueError(
                f"stage {self.stage}: cors_origins must hold exactly one origin or '*' (the handlers "
                "send a single Access-Control-Allow-Origin)"
            )
        unknown = set(self.required_settings) - set(SETTINGS)
        if unknown:
            raise ValueError(f"stage {self.stage}: unknown required settings {sorted(unknown)}")
        if not self.regions or self.regions[0] != self.region or len(set(self.regions)) != len(self.regions):
            raise ValueError(f"stage {self.stage}: regions must list distinct regions, the primary {self.region} first")
        if self.multi_region and not (self.hosted_zone_id and self.hosted_zone_name):
            raise ValueError(f"stage {self.stage}: several regions need a hosted zone (hostedZoneId, hostedZoneName)")

    @property
    def stack_name(self) -> str:
        return deployment.stack_name(self.stage)

    @property
    def multi_region(self) -> bool:
        return len(self.regions) > 1

    @property
    def secondaries(self) -> tuple[str, ...]:
        return self.regions[1:]

    @property
    def origin_domain(self) -> str:
        """Multi-region: the name CloudFront sends API requests to; Route 53 answers it with the
        API of the region nearest to the edge location, among the healthy ones."""
        if not self.hosted_zone_name:
            raise ValueError(f"stage {self.stage}: no hosted zone, no origin name")
        return f"api-origin-{self.stage}.{self.hosted_zone_name}"

    @property
    def prefix(self) -> str:
        """Prefix of the physical names that may be fixed (functions, alarms, dashboard, WAF)."""
        return f"{SERVICE_NAME}-{self.stage}"

    def function(self, name: str) -> FunctionSettings:
        return self.functions.get(name, self.default_function)


_LATENCY_CRITICAL = FunctionSettings(memory_mb=1024, timeout_seconds=10, provisioned=2)
#: The scheduled sweep of pending account deletions: it works until its time is nearly up and
#: must end before the next run starts (``routes.SCHEDULES``: every minute).
_SWEEP = FunctionSettings(timeout_seconds=55)

STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        stage="dev",
        log_retention_days=14,
        authorizer_cache_ttl_seconds=60,
        stage_throttle=ApiThrottle(50, 100),
        functions={
            # Password hashing (argon2id / bcrypt) is CPU bound: more memory = more CPU.
            "login": FunctionSettings(memory_mb=1024),
            "register": FunctionSettings(memory_mb=1024),
            "finish_deletions": _SWEEP,
        },
    ),
    "prod": StageConfig(
        stage="prod",
        retain_data=True,
        log_retention_days=90,
        # The front end's origin and the on-call addresses belong to the deployment, not to
        # the repository: see SETTINGS.
        cors_origins=(),
        required_settings=("corsOrigin", "alarmEmails"),
        stage_throttle=ApiThrottle(500, 1000),
        client_limits=ClientLimits(requests=3000),
        canary_deploys=True,
        cloudfront_additional_metrics=True,
        functions={
            "login": _LATENCY_CRITICAL,
            "list_ideas": _LATENCY_CRITICAL,
            "list_skills": _LATENCY_CRITICAL,
            "register": FunctionSettings(memory_mb=1024),
            "finish_deletions": _SWEEP,
        },
        table=TableSettings(
            on_demand=False,
            table_capacity=Capacity(read_min=10, read_max=200, write_min=5, write_max=100),
            index_capacity=Capacity(read_min=10, read_max=200, write_min=5, write_max=100),
            deletion_protection=True,
            contributor_insights=True,
        ),
        alarms=AlarmThresholds(api_5xx_errors=10, api_latency_p99_ms=2000, lambda_errors=10),
    ),
}


def _origin(value: str, stage: StageConfig) -> str:
    origin = value.strip().rstrip("/")
    if origin == "*":
        if stage.retain_data:
            raise SettingsError(f"stage {stage.stage}: corsOrigin '*' lets any web page call the API; name the origin")
        return origin
    if not _ORIGIN.fullmatch(origin.lower()):
        raise SettingsError(
            f"stage {stage.stage}: corsOrigin {value!r} is not an origin (https://host[:port], no path)"
        )
    return origin


def _emails(value: str, stage: StageConfig) -> tuple[str, ...]:
    emails = tuple(part.strip() for part in value.split(",") if part.strip())
    bad = [email for email in emails if not _EMAIL.fullmatch(email)]
    if bad or not emails:
        raise SettingsError(f"stage {stage.stage}: alarmEmails {value!r} is not a list of e-mail addresses")
    return emails


def stage_config(stage: str) -> StageConfig:
    """The stage's configuration as the repository has it (without deployment settings)."""
    try:
        return STAGES[stage]
    except KeyError:
        raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}") from None


def deployment_config(stage: str, settings: Mapping[str, str | None] | None = None) -> StageConfig:
    """The configuration a stage is synthesized with: its deployment settings (keys of
    SETTINGS, e.g. from CDK context) applied and checked; raises SettingsError naming what
    is missing or wrong."""
    base = stage_config(stage)
    given = {key: value for key, value in (settings or {}).items() if value}
    missing = [key for key in base.required_settings if key not in given]
    if missing:
        lines = [
            f"  {key}: {SETTING_HELP[key]} (cdk -c {key}=... or the environment variable {SETTINGS[key]})"
            for key in missing
        ]
        raise SettingsError(f"stage {stage} cannot be synthesized without:\n" + "\n".join(lines))
    config = _with_regions(base, given)
    if "corsOrigin" in given:
        config = replace(config, cors_origins=(_origin(str(given["corsOrigin"]), base),))
    if "alarmEmails" in given:
        config = replace(config, alarm_emails=_emails(str(given["alarmEmails"]), base))
    return config


def _with_regions(stage: StageConfig, given: Mapping[str, str | None]) -> StageConfig:
    """The stage with the regions setting applied: one region (or none given) leaves it single-region;
    several need the hosted zone that latency routing to the regional APIs goes through."""
    regions = tuple(part.strip() for part in str(given.get("regions") or stage.region).split(",") if part.strip())
    bad = [region for region in regions if not _REGION.fullmatch(region)]
    if bad or not regions:
        raise SettingsError(f"stage {stage.stage}: regions {given.get('regions')!r} is not a list of AWS regions")
    if regions[0] != stage.region:
        raise SettingsError(
            f"stage {stage.stage}: the first of regions is the primary and must be {stage.region} "
            "(CloudFront's web ACL, certificate and metrics live there)"
        )
    if len(set(regions)) != len(regions):
        raise SettingsError(f"stage {stage.stage}: regions {given.get('regions')!r} names a region twice")
    if len(regions) == 1:
        return stage
    missing = [key for key in ("hostedZoneId", "hostedZoneName") if not given.get(key)]
    if missing:
        lines = [
            f"  {key}: {SETTING_HELP[key]} (cdk -c {key}=... or the environment variable {REGION_SETTINGS[key]})"
            for key in missing
        ]
        raise SettingsError(
            f"stage {stage.stage} in several regions ({', '.join(regions)}) cannot be synthesized without a "
            "domain: CloudFront reaches the nearest healthy regional API through a Route 53 latency-routed "
            "name, which needs:\n" + "\n".join(lines)
        )
    zone_id, zone_name = str(given["hostedZoneId"]).strip(), str(given["hostedZoneName"]).strip().rstrip(".").lower()
    if not _ZONE_ID.fullmatch(zone_id):
        raise SettingsError(f"stage {stage.stage}: hostedZoneId {zone_id!r} is not a Route 53 hosted zone id")
    if not _DOMAIN.fullmatch(zone_name):
        raise SettingsError(f"stage {stage.stage}: hostedZoneName {zone_name!r} is not a domain name")
    return replace(stage, regions=regions, hosted_zone_id=zone_id, hosted_zone_name=zone_name)


def is_example(value: str) -> bool:
    """True for the EXAMPLE_SETTINGS kind of value (example.com & co), which must not deploy."""
    host = value.lower().rsplit("@", 1)[-1].removeprefix("https://").split(":", 1)[0].split("/", 1)[0]
    return any(host == domain or host.endswith("." + domain) for domain in EXAMPLE_DOMAINS)
