"""WAF: per-client limits and managed rules at the edge, where the client's own address is
known; the API stage answers only requests that came through CloudFront; every block is the
JSON envelope."""

from __future__ import annotations

import json

from infra.components.secrets import ORIGIN_VERIFY_HEADER
from infra.components.waf import COUNT_ONLY, LOGIN_PATH, MANAGED_RULES, REGISTER_PATH
from tests.infra.helpers import ref, refs_in


def _acls(stack) -> dict[str, dict]:
    return {acl["Properties"]["Scope"]: acl["Properties"] for acl in stack.of_type("AWS::WAFv2::WebACL").values()}


def _acl_ids(stack) -> dict[str, str]:
    return {acl["Properties"]["Scope"]: lid for lid, acl in stack.of_type("AWS::WAFv2::WebACL").items()}


def _distribution(stack) -> dict:
    (distribution,) = stack.of_type("AWS::CloudFront::Distribution").values()
    return distribution["Properties"]["DistributionConfig"]


def _rules(acl: dict) -> dict[str, dict]:
    return {rule["Name"]: rule for rule in acl["Rules"]}


def _custom_response(acl: dict, block: dict) -> tuple[int, dict, dict[str, str]]:
    response = block["CustomResponse"]
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    headers = {h["Name"]: h["Value"] for h in response.get("ResponseHeaders", [])}
    return response["ResponseCode"], json.loads(body["Content"]), headers


def test_the_edge_acl_protects_the_distribution_and_the_regional_one_the_stage(stack):
    ids = _acl_ids(stack)
    assert set(ids) == {"CLOUDFRONT", "REGIONAL"}
    assert ref(_distribution(stack)["WebACLId"]) == ids["CLOUDFRONT"]
    (association,) = stack.of_type("AWS::WAFv2::WebACLAssociation").values()
    assert ref(association["Properties"]["WebACLArn"]) == ids["REGIONAL"]
    stage = next(iter(stack.of_type("AWS::ApiGateway::Stage")))
    assert stage in refs_in(association["Properties"]["ResourceArn"])


def test_rate_limits_are_per_client_at_the_edge_and_never_on_the_stage(stack):
    # Behind CloudFront the stage's web ACL sees edge servers, not clients: a rate rule there
    # would count a whole city as one client and block it all.
    acls = _acls(stack)
    assert not [r for r in acls["REGIONAL"]["Rules"] if "RateBasedStatement" in r["Statement"]]
    limits = stack.config.client_limits
    rules = _rules(acls["CLOUDFRONT"])
    expected = {
        "RateLimitPerClient": (limits.requests, None),
        "LoginRateLimitPerClient": (limits.logins, LOGIN_PATH),
        "RegisterRateLimitPerClient": (limits.registrations, REGISTER_PATH),
    }
    for name, (limit, path) in expected.items():
        statement = rules[name]["Statement"]["RateBasedStatement"]
        # At the edge the IP is the viewer's own address.
        assert statement["AggregateKeyType"] == "IP", name
        assert (statement["Limit"], statement["EvaluationWindowSec"]) == (limit, limits.window_seconds), name
        if path:
            match = statement["ScopeDownStatement"]["ByteMatchStatement"]
            assert (match["SearchString"], match["PositionalConstraint"]) == (path, "EXACTLY"), name
            assert limit < limits.requests, name
        status, body, headers = _custom_response(acls["CLOUDFRONT"], rules[name]["Action"]["Block"])
        assert status == 429, name
        assert body == {"success": False, "message": "Too many requests, please try again later"}, name
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Retry-After"] == str(limits.window_seconds)


def test_the_stage_admits_only_requests_carrying_cloudfronts_token(stack):
    regional = _acls(stack)["REGIONAL"]
    # Everything is blocked by default, in the envelope...
    status, body, headers = _custom_response(regional, regional["DefaultAction"]["Block"])
    assert (status, body) == (403, {"success": False, "message": "Forbidden"})
    assert headers["X-Content-Type-Options"] == "nosniff"
    # ...except requests with the token in the origin-verify header
    (rule,) = regional["Rules"]
    assert "Allow" in rule["Action"]
    match = rule["Statement"]["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": ORIGIN_VERIFY_HEADER.lower()}}
    assert match["PositionalConstraint"] == "EXACTLY"
    token = match["SearchString"]
    # The token is a secret resolved at deploy time: never a literal in the template.
    assert "{{resolve:secretsmanager:" in json.dumps(token)
    (secret,) = refs_in(token)
    assert stack.resources[secret]["Type"] == "AWS::SecretsManager::Secret"
    # CloudFront sends exactly that token to the API origin (and not to the bucket).
    for origin in _distribution(stack)["Origins"]:
        headers = {h["HeaderName"]: h["HeaderValue"] for h in origin.get("OriginCustomHeaders", [])}
        if "CustomOriginConfig" in origin:
            assert headers[ORIGIN_VERIFY_HEADER] == token
        else:
            assert ORIGIN_VERIFY_HEADER not in headers


def test_managed_rules_block_in_the_envelope_except_the_ones_that_would_refuse_valid_requests(stack):
    edge = _acls(stack)["CLOUDFRONT"]
    rules = _rules(edge)
    for group, names in MANAGED_RULES.items():
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert rules[group]["OverrideAction"] == {"None": {}}, group  # the group's own blocks stand
        overrides = {o["Name"]: o["ActionToUse"] for o in statement["RuleActionOverrides"]}
        assert set(overrides) == set(names), group
        for name, action in overrides.items():
            if name in COUNT_ONLY:
                assert action == {"Count": {}}, name
                continue
            status, body, headers = _custom_response(edge, action["Block"])
            assert (status, body) == (403, {"success": False, "message": "Request blocked"}), name
            assert headers["X-Content-Type-Options"] == "nosniff"
    # The API takes bodies up to 64 KB (5,000-character descriptions), and legacy clients
    # that send no User-Agent: the core rule set would refuse both.
    assert {"SizeRestrictions_BODY", "NoUserAgent_HEADER"} <= set(COUNT_ONLY)


def test_every_waf_answer_is_the_envelope_with_the_cors_origin(stack):
    (origin,) = stack.config.cors_origins
    for acl in _acls(stack).values():
        for key, body in acl["CustomResponseBodies"].items():
            document = json.loads(body["Content"])
            assert set(document) == {"success", "message"} and document["success"] is False, key
        blocks = [acl["DefaultAction"].get("Block")] + [rule.get("Action", {}).get("Block") for rule in acl["Rules"]]
        for block in filter(None, blocks):
            headers = {h["Name"]: h["Value"] for h in block["CustomResponse"]["ResponseHeaders"]}
            assert headers["Access-Control-Allow-Origin"] == origin
