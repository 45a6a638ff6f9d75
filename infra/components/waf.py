"""AWS WAF web ACLs: the edge one (CloudFront) protects everything; the regional one on the API
stage admits only requests that came through CloudFront.

Why every rule sits at the edge: behind CloudFront, a regional web ACL sees the addresses of
CloudFront's edge servers, not the clients', so a rate limit per IP there counts whole cities
together (and blocks all of them at once), while callers of the execute-api URL would skip
CloudFront's protections altogether. So:

- ``EdgeWebAcl`` (scope CLOUDFRONT) sees the real viewer address: rate limits per client on
  any request, on logins and on registrations, then AWS's common and known-bad-inputs rule
  groups;
- ``FrontDoorWebAcl`` (scope REGIONAL, on the stage) blocks every request that does not carry
  the origin-verify token CloudFront adds (``secrets.OriginVerifySecret``).

Every block answers the API's JSON envelope ``{"success": false, "message": ...}`` (a custom
response), with ``X-Content-Type-Options: nosniff`` and the CORS origin, so clients see the
same shape as any other error instead of an HTML page.
"""

from __future__ import annotations

import json

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.components.secrets import ORIGIN_VERIFY_HEADER
from infra.config import StageConfig

LOGIN_PATH = "/api/login"
REGISTER_PATH = "/api/register"

#: Custom response bodies (key -> (status, message)).
RESPONSES: dict[str, tuple[int, str]] = {
    "blocked": (403, "Request blocked"),
    "rate_limited": (429, "Too many requests, please try again later"),
    "not_through_cloudfront": (403, "Forbidden"),
}

#: The rules of AWS's managed groups, as AWS documents them. Each is overridden to block with
#: the JSON envelope; a rule AWS adds later still blocks, with WAF's default response.
MANAGED_RULES: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesCommonRuleSet": (
        "NoUserAgent_HEADER",
        "UserAgent_BadBots_HEADER",
        "SizeRestrictions_QUERYSTRING",
        "SizeRestrictions_Cookie_HEADER",
        "SizeRestrictions_BODY",
        "SizeRestrictions_URIPATH",
        "EC2MetaDataSSRF_BODY",
        "EC2MetaDataSSRF_COOKIE",
        "EC2MetaDataSSRF_URIPATH",
        "EC2MetaDataSSRF_QUERYARGUMENTS",
        "GenericLFI_QUERYARGUMENTS",
        "GenericLFI_URIPATH",
        "GenericLFI_BODY",
        "RestrictedExtensions_URIPATH",
        "RestrictedExtensions_QUERYARGUMENTS",
        "GenericRFI_QUERYARGUMENTS",
        "GenericRFI_BODY",
        "GenericRFI_URIPATH",
        "CrossSiteScripting_COOKIE",
        "CrossSiteScripting_QUERYARGUMENTS",
        "CrossSiteScripting_BODY",
        "CrossSiteScripting_URIPATH",
    ),
    "AWSManagedRulesKnownBadInputsRuleSet": (
        "JavaDeserializationRCE_HEADER",
        "JavaDeserializationRCE_BODY",
        "JavaDeserializationRCE_URIPATH",
        "JavaDeserializationRCE_QUERYSTRING",
        "Host_localhost_HEADER",
        "PROPFIND_METHOD",
        "ExploitablePaths_URIPATH",
        "Log4JRCE_HEADER",
        "Log4JRCE_QUERYSTRING",
        "Log4JRCE_BODY",
        "Log4JRCE_URIPATH",
    ),
}
#: Managed rules that would reject requests the API accepts: they only count (and label).
COUNT_ONLY: dict[str, str] = {
    # The API accepts JSON bodies up to 64 KB: a 5,000-character description is already more
    # than 8 KB once non-ASCII text is encoded. The handlers enforce the real limits.
    "SizeRestrictions_BODY": "blocks bodies over 8 KB",
    # Legacy clients (scripts, older mobile builds) send no User-Agent and must keep working.
    "NoUserAgent_HEADER": "blocks requests without a User-Agent",
}


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _bodies() -> dict[str, wafv2.CfnWebACL.CustomResponseBodyProperty]:
    return {
        key: wafv2.CfnWebACL.CustomResponseBodyProperty(
            content_type="APPLICATION_JSON", content=json.dumps({"success": False, "message": message})
        )
        for key, (_, message) in RESPONSES.items()
    }


def _block(config: StageConfig, response: str, **extra_headers: str) -> wafv2.CfnWebACL.BlockActionProperty:
    status, _ = RESPONSES[response]
    headers = {"X-Content-Type-Options": "nosniff", **extra_headers}
    if config.cors_origins:
        headers["Access-Control-Allow-Origin"] = config.cors_origins[0]
    return wafv2.CfnWebACL.BlockActionProperty(
        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
            response_code=status,
            custom_response_body_key=response,
            response_headers=[
                wafv2.CfnWebACL.CustomHTTPHeaderProperty(name=name, value=value) for name, value in headers.items()
            ],
        )
    )


def _path_is(path: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="EXACTLY",
            search_string=path,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
        )
    )


class EdgeWebAcl(Construct):
    """Scope CLOUDFRONT: per-client rate limits and AWS's managed rule groups."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        limits = config.client_limits
        rate_limited = wafv2.CfnWebACL.RuleActionProperty(
            block=_block(config, "rate_limited", **{"Retry-After": str(limits.window_seconds)})
        )
        blocked = wafv2.CfnWebACL.RuleActionProperty(block=_block(config, "blocked"))
        counted = wafv2.CfnWebACL.RuleActionProperty(count={})
        rules: list[wafv2.CfnWebACL.RuleProperty] = []

        def rate_rule(name: str, limit: int, scope_down: wafv2.CfnWebACL.StatementProperty | None = None) -> None:
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=name,
                    priority=len(rules),
                    action=rate_limited,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            # At the edge, "IP" is the viewer's own address.
                            aggregate_key_type="IP",
                            limit=limit,
                            evaluation_window_sec=limits.window_seconds,
                            scope_down_statement=scope_down,
                        )
                    ),
                    visibility_config=_visibility(name),
                )
            )

        # Rate rules first: requests the managed rules block still count against their sender.
        rate_rule("RateLimitPerClient", limits.requests)
        rate_rule("LoginRateLimitPerClient", limits.logins, _path_is(LOGIN_PATH))
        rate_rule("RegisterRateLimitPerClient", limits.registrations, _path_is(REGISTER_PATH))
        for group, rule_names in MANAGED_RULES.items():
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=len(rules),
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name=group,
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name=rule, action_to_use=counted if rule in COUNT_ONLY else blocked
                                )
                                for rule in rule_names
                            ],
                        )
                    ),
                    visibility_config=_visibility(group),
                )
            )
        name = f"{config.prefix}-cloudfront"
        self.acl = wafv2.CfnWebACL(
            self,
            "Acl",
            name=name,
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            custom_response_bodies=_bodies(),
            rules=rules,
        )


class FrontDoorWebAcl(Construct):
    """Scope REGIONAL, on the API stage: allow only requests carrying CloudFront's token."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        token: str,
        health_check_path: str | None = None,
    ) -> None:
        """``health_check_path`` (multi-region): Route 53's health checkers call it on the
        execute-api host without the token; it is admitted, GET only, and blocked for any one
        address that calls it more than ``HEALTH_CHECKS_PER_ADDRESS`` times in five minutes."""
        super().__init__(scope, construct_id)
        name = f"{config.prefix}-regional"
        through_cloudfront = wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                    single_header={"Name": ORIGIN_VERIFY_HEADER.lower()}
                ),
                positional_constraint="EXACTLY",
                search_string=token,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        self.acl = wafv2.CfnWebACL(
            self,
            "Acl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(block=_block(config, "not_through_cloudfront")),
            visibility_config=_visibility(name),
            custom_response_bodies=_bodies(),
            rules=[
                _allow("ThroughCloudFront", 0, through_cloudfront),
                *(_health_check_rules(config, health_check_path) if health_check_path else []),
            ],
        )


#: Route 53 checks from each checker address about every 30 s per health check (10 s intervals
#: spread over its checkers): 10 a 5-minute window. Far above that is someone else.
HEALTH_CHECKS_PER_ADDRESS = 100
HEALTH_CHECK_WINDOW_SECONDS = 300


def _health_check_rules(config: StageConfig, path: str) -> list[wafv2.CfnWebACL.RuleProperty]:
    """After ``ThroughCloudFront``: a flood of ``path`` from one address is blocked, then a GET of
    ``path`` is admitted without the token (the health check of docs/multi-region.md)."""
    health_get = wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                _path_is(path),
                wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
                        positional_constraint="EXACTLY",
                        search_string="GET",
                        text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                    )
                ),
            ]
        )
    )
    return [
        wafv2.CfnWebACL.RuleProperty(
            name="HealthCheckFlood",
            priority=1,
            action=wafv2.CfnWebACL.RuleActionProperty(
                block=_block(config, "rate_limited", **{"Retry-After": str(HEALTH_CHECK_WINDOW_SECONDS)})
            ),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=HEALTH_CHECKS_PER_ADDRESS,
                    evaluation_window_sec=HEALTH_CHECK_WINDOW_SECONDS,
                    scope_down_statement=_path_is(path),
                )
            ),
            visibility_config=_visibility("HealthCheckFlood"),
        ),
        _allow("HealthChecks", 2, health_get),
    ]


def _allow(name: str, priority: int, statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(allow={}),
        statement=statement,
        visibility_config=_visibility(name),
    )
