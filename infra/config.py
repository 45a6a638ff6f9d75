"""Every name, size and threshold of the stack, per stage, in one place.

A stage is chosen with CDK context: ``cdk synth -c stage=prod`` (default ``dev``). Each stage is
one typed, frozen object; constructs read it and hard-code nothing.

Region: the stack lives in us-east-1. CloudFront only accepts a WAF web ACL created in
us-east-1 and publishes its metrics (and so its alarms) only there; keeping the whole stack in
that region makes the CloudFront WAF, the CloudFront alarms and the API one stack with plain
references, instead of a second stack tied to this one by cross-region custom resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from skills_ideas import deployment

#: Where CloudFront-scoped resources (web ACL, metrics, alarms) must live.
CLOUDFRONT_REGION = "us-east-1"
SERVICE_NAME = "skills-ideas"
METRICS_NAMESPACE = "SkillsIdeas"

#: Business events the handlers emit through Powertools (namespace METRICS_NAMESPACE,
#: dimension service=SERVICE_NAME), one count per outcome.
BUSINESS_EVENTS: tuple[str, ...] = (
    "UserRegistered",
    "LoginSucceeded",
    "LoginFailed",
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
#: The security audit trail (skills_ideas.audit): logins refused with 429, wrong passwords on a
#: password change or deletion, password changes, sessions ended, accounts deleted, role changes.
SECURITY_METRICS: tuple[str, ...] = (
    "LoginLockedOut",
    "PasswordCheckFailed",
    "PasswordChanged",
    "SessionEnded",
    "AccountDeleted",
    "RoleChanged",
)
#: Every application metric on the dashboard.
BUSINESS_METRICS: tuple[str, ...] = BUSINESS_EVENTS + CATALOGUE_METRICS + SECURITY_METRICS


@dataclass(frozen=True)
class FunctionSettings:
    memory_mb: int = 512
    timeout_seconds: int = 10
    #: Caps how hard one function can hit the table; None leaves it on the account pool.
    reserved_concurrency: int | None = None
    #: Provisioned concurrency scaled by Application Auto Scaling; None means on-demand only.
    provisioned_min: int | None = None
    provisioned_max: int | None = None


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
class AlarmThresholds:
    #: Counts are per 5-minute period, alarming when 3 of the last 5 periods breach.
    api_5xx_errors: int = 5
    api_latency_p99_ms: int = 3000
    lambda_errors: int = 5
    lambda_throttles: int = 1
    #: Errors of a function's `live` alias in one minute that roll a CodeDeploy shift back.
    deploy_rollback_errors: int = 1
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


@dataclass(frozen=True)
class StageConfig:
    stage: str
    region: str = CLOUDFRONT_REGION
    retain_data: bool = False
    log_retention_days: int = 30
    #: CORS: the origin allowed to call the API ("*" = any). The handlers answer with one
    #: Access-Control-Allow-Origin value (CORS_ALLOW_ORIGIN), so this holds one entry.
    cors_origins: tuple[str, ...] = ("*",)
    authorizer_cache_ttl_seconds: int = 300
    stage_throttle: ApiThrottle = ApiThrottle(100, 200)
    #: Tighter limits on the credential endpoints, per method.
    auth_throttle: ApiThrottle = ApiThrottle(5, 10)
    usage_plan_daily_quota: int = 1_000_000
    #: WAF rate-based rules: requests per 5 minutes per client IP.
    waf_rate_limit_per_ip: int = 2000
    waf_login_rate_limit_per_ip: int = 100
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
        if len(self.cors_origins) != 1:
            raise ValueError(
                f"stage {self.stage}: cors_origins must hold exactly one origin or '*' (the handlers "
                "send a single Access-Control-Allow-Origin)"
            )

    @property
    def stack_name(self) -> str:
        return deployment.stack_name(self.stage)

    @property
    def prefix(self) -> str:
        """Prefix of every physical name (table, secret, alarms, dashboard)."""
        return f"{SERVICE_NAME}-{self.stage}"

    @property
    def table_name(self) -> str:
        return f"{self.prefix}"

    @property
    def jwt_secret_name(self) -> str:
        return f"{SERVICE_NAME}/{self.stage}/jwt-signing-key"

    def function(self, name: str) -> FunctionSettings:
        return self.functions.get(name, self.default_function)


_LATENCY_CRITICAL = FunctionSettings(memory_mb=1024, timeout_seconds=10, provisioned_min=2, provisioned_max=20)

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
        },
    ),
    "prod": StageConfig(
        stage="prod",
        retain_data=True,
        log_retention_days=90,
        cors_origins=("https://skills-ideas.example.com",),
        stage_throttle=ApiThrottle(500, 1000),
        auth_throttle=ApiThrottle(20, 40),
        waf_rate_limit_per_ip=3000,
        canary_deploys=True,
        cloudfront_additional_metrics=True,
        functions={
            "login": replace(_LATENCY_CRITICAL, reserved_concurrency=100),
            "list_ideas": _LATENCY_CRITICAL,
            "list_skills": _LATENCY_CRITICAL,
            # Registration writes two items per call: cap it so a signup burst cannot starve
            # the table's write capacity for everyone else.
            "register": FunctionSettings(memory_mb=1024, reserved_concurrency=50),
        },
        table=TableSettings(
            on_demand=False,
            table_capacity=Capacity(read_min=10, read_max=200, write_min=5, write_max=100),
            index_capacity=Capacity(read_min=10, read_max=200, write_min=5, write_max=100),
            deletion_protection=True,
            contributor_insights=True,
        ),
        alarms=AlarmThresholds(api_5xx_errors=10, api_latency_p99_ms=2000, lambda_errors=10),
        alarm_emails=("oncall@skills-ideas.example.com",),
    ),
}


def stage_config(stage: str) -> StageConfig:
    try:
        return STAGES[stage]
    except KeyError:
        raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}") from None
