"""AWS WAF web ACLs: one REGIONAL (API stage), one CLOUDFRONT (the distribution).

Both carry the same rules: AWS managed common and known-bad-inputs rule groups, a rate limit
per client IP, and a much tighter one on the login path (credential stuffing).
"""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StageConfig

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
#: Matches the login path both behind CloudFront (/api/login) and on the stage (/<stage>/api/login).
LOGIN_PATH_SUFFIX = "/api/login"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _rate_rule(name: str, priority: int, limit: int, scope_down=None) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP", limit=limit, scope_down_statement=scope_down
            )
        ),
        visibility_config=_visibility(name),
    )


class WebAcl(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, scope_name: str) -> None:
        super().__init__(scope, construct_id)
        login_path = wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="ENDS_WITH",
                search_string=LOGIN_PATH_SUFFIX,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
            )
        )
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(_rate_rule("LoginRateLimitPerIp", len(rules), config.waf_login_rate_limit_per_ip, login_path))
        rules.append(_rate_rule("RateLimitPerIp", len(rules), config.waf_rate_limit_per_ip))
        name = f"{config.prefix}-{scope_name.lower()}"
        self.acl = wafv2.CfnWebACL(
            self,
            "Acl",
            name=name,
            scope=scope_name,
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=rules,
        )
