"""The catalogue bucket stays private; CloudFront caches only the public skill reads."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from infra.components.delivery import DROP_AUTHORIZATION_ON_READS
from infra.stack import DEFAULT_CATALOGUE
from skills_ideas.config import CatalogueConfig
from tests.infra.helpers import functions_by_name, ref, refs_in


def _bucket(stack):
    """The catalogue bucket: the one CloudFront reads through origin access control."""
    (distribution,) = stack.of_type("AWS::CloudFront::Distribution").values()
    s3_origins = [o for o in distribution["Properties"]["DistributionConfig"]["Origins"] if "S3OriginConfig" in o]
    (origin,) = s3_origins
    return ref(origin["DomainName"])


def _distribution(stack):
    (distribution,) = stack.of_type("AWS::CloudFront::Distribution").values()
    return distribution["Properties"]["DistributionConfig"]


def test_catalogue_bucket_is_private_versioned_encrypted_and_logged(stack):
    props = stack.props(_bucket(stack))
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "LoggingConfiguration" in props


def test_catalogue_bucket_policy_denies_plain_http_and_admits_only_this_distribution(stack):
    bucket = _bucket(stack)
    (policy,) = [p for p in stack.of_type("AWS::S3::BucketPolicy").values() if ref(p["Properties"]["Bucket"]) == bucket]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    allows = [s for s in statements if s["Effect"] == "Allow"]
    # A disposable stage also lets CDK's auto-delete handler empty the bucket on stack deletion.
    cleaners = [s for s in allows if "AutoDeleteObjects" in json.dumps(s["Principal"])]
    assert bool(cleaners) is (not stack.config.retain_data)
    readers = [s for s in allows if s not in cleaners]
    assert readers, "CloudFront must be allowed to read"
    distribution_id = next(iter(stack.of_type("AWS::CloudFront::Distribution")))
    for statement in readers:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert statement["Action"] == "s3:GetObject"
        assert distribution_id in refs_in(statement["Condition"])


def _seed(stack):
    (seed,) = stack.of_type("Custom::CatalogueSeed").values()
    return seed


def _sdk_call(seed, event):
    """The AwsCustomResource call of one lifecycle event, as the provider will decode it."""
    raw = seed["Properties"].get(event)
    if raw is None:
        return None
    # CDK writes the call as a JSON string, joined around the bucket's Ref.
    parts = raw["Fn::Join"][1] if isinstance(raw, dict) else [raw]
    text = "".join(part if isinstance(part, str) else "BUCKET-REF" for part in parts)
    return json.loads(text), refs_in(raw)


def test_live_catalogue_is_seeded_only_on_create_and_only_if_absent(stack):
    seed = _seed(stack)
    # Only Create: an Update (the default file changed) or a Delete calls nothing.
    assert _sdk_call(seed, "Update") is None
    assert _sdk_call(seed, "Delete") is None
    call, referenced = _sdk_call(seed, "Create")
    assert (call["service"], call["action"]) == ("S3", "putObject")
    params = call["parameters"]
    assert referenced == {_bucket(stack)} and params["Bucket"] == "BUCKET-REF"
    assert params["Key"] == stack.config.catalogue_key
    # A conditional create: an existing object (a retained bucket) is never replaced...
    assert params["IfNoneMatch"] == "*"
    assert "IfMatch" not in params
    # ...and S3's 412 (or 409 while another conditional write is in flight) is not a failure.
    assert re.fullmatch(call["ignoreErrorCodesMatching"], "PreconditionFailed")
    assert re.fullmatch(call["ignoreErrorCodesMatching"], "ConditionalRequestConflict")
    assert not re.search(call["ignoreErrorCodesMatching"], "AccessDenied")
    assert json.loads(params["Body"]) == json.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    assert params["ContentType"] == "application/json"
    assert params["CacheControl"] == stack.config.catalogue_cache_control
    assert seed["Properties"]["InstallLatestAwsSdk"] is False  # no npm install during a deploy


def test_seed_object_carries_the_cache_control_the_api_writes(stack):
    # Admin writes put the functions' CatalogueConfig.cache_control; the seeded object must
    # look the same to CloudFront and to browsers.
    for lid in functions_by_name(stack).values():
        env = stack.props(lid).get("Environment", {}).get("Variables", {})
        plain = {name: value for name, value in env.items() if isinstance(value, str)}
        api = CatalogueConfig.from_env({**plain, "CATALOGUE_BUCKET": "bucket", "AWS_REGION": "us-east-1"})
        assert stack.config.catalogue_cache_control == api.cache_control, lid


def test_seed_may_only_put_the_catalogue_key(stack):
    seed_policies = [
        p["Properties"] for lid, p in stack.of_type("AWS::IAM::Policy").items() if lid.startswith("SkillsSeed")
    ]
    (policy,) = seed_policies
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "s3:PutObject"
    resource = statement["Resource"]["Fn::Join"][1]
    assert resource == [{"Fn::GetAtt": [_bucket(stack), "Arn"]}, f"/{stack.config.catalogue_key}"]


def test_no_deployment_construct_writes_the_bucket(stack):
    # A BucketDeployment would overwrite admin edits (and could lower nextId) on a deploy.
    assert not stack.of_type("Custom::CDKBucketDeployment")
    bucket = _bucket(stack)
    writers = {
        resource["Type"]
        for resource in stack.resources.values()
        if resource["Type"].startswith("Custom::") and bucket in refs_in(resource.get("Properties", {}))
    }
    # Only the seed (and, on a disposable stage, CDK's emptying of the bucket on stack deletion).
    expected = {"Custom::CatalogueSeed"} | (set() if stack.config.retain_data else {"Custom::S3AutoDeleteObjects"})
    assert writers == expected


def test_cloudfront_serves_the_live_catalogue_key_from_the_bucket(stack):
    config = _distribution(stack)
    (behaviour,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/catalogue/*"]
    (origin,) = [o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"]]
    assert ref(origin["DomainName"]) == _bucket(stack)
    assert stack.config.catalogue_key.startswith("catalogue/")


def test_cloudfront_serves_https_only_with_security_headers_and_waf(stack):
    config = _distribution(stack)
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    for behaviour in behaviours:
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert "ResponseHeadersPolicyId" in behaviour
    (headers,) = stack.of_type("AWS::CloudFront::ResponseHeadersPolicy").values()
    security = headers["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert {"StrictTransportSecurity", "ContentTypeOptions", "FrameOptions"} <= set(security)
    acls = {lid: r["Properties"]["Scope"] for lid, r in stack.of_type("AWS::WAFv2::WebACL").items()}
    assert acls[ref(config["WebACLId"])] == "CLOUDFRONT"
    for origin in config["Origins"]:
        if "CustomOriginConfig" in origin:
            assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
            assert origin["OriginPath"] == f"/{stack.config.stage}"
        else:
            assert "OriginAccessControlId" in origin


def _cache_policy(stack, behaviour):
    return stack.props(ref(behaviour["CachePolicyId"]))["CachePolicyConfig"]


def test_only_public_skill_and_idea_reads_are_cached_keyed_on_their_query_strings(stack):
    config = _distribution(stack)
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviours) == {"/api/skills*", "/api/ideas*", "/catalogue/*"}

    skills = behaviours["/api/skills*"]
    assert skills["CachedMethods"] == ["GET", "HEAD"]
    policy = _cache_policy(stack, skills)
    assert policy["DefaultTTL"] == stack.config.skills_cache_default_ttl_seconds
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "whitelist"
    assert {"q", "category", "sort", "cursor"} <= set(key["QueryStringsConfig"]["QueryStrings"])
    assert key["CookiesConfig"]["CookieBehavior"] == "none"
    # Authorization is keyed only so writes forward it; the viewer function drops it on reads.
    assert key["HeadersConfig"]["Headers"] == ["Authorization"]
    (association,) = skills["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    function = stack.props(ref(association["FunctionARN"]))
    assert function["FunctionCode"] == DROP_AUTHORIZATION_ON_READS

    # Idea reads: kept only as long as the API's Cache-Control says (5 s), keyed on the listing's
    # parameters, without a token; an error or a write is never stored (default TTL 0)
    ideas = behaviours["/api/ideas*"]
    assert ideas["CachedMethods"] == ["GET", "HEAD"]
    assert ideas["FunctionAssociations"] == skills["FunctionAssociations"]
    policy = _cache_policy(stack, ideas)
    assert (policy["MinTTL"], policy["DefaultTTL"]) == (0, 0) and policy["MaxTTL"] >= 5
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert set(key["QueryStringsConfig"]["QueryStrings"]) == {
        "status",
        "userId",
        "sort",
        "order",
        "_limit",
        "cursor",
        "_page",
    }

    # Everything else on the API: nothing stored (TTL 0), Authorization forwarded.
    dynamic = _cache_policy(stack, config["DefaultCacheBehavior"])
    assert (dynamic["MinTTL"], dynamic["DefaultTTL"]) == (0, 0)
    assert dynamic["MaxTTL"] <= 1
    assert dynamic["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"] == ["Authorization"]
    assert behaviours["/catalogue/*"]["AllowedMethods"] == ["GET", "HEAD"]


@pytest.mark.parametrize(
    ("method", "keeps_token"), [("GET", False), ("HEAD", False), ("POST", True), ("PUT", True), ("DELETE", True)]
)
def test_viewer_function_drops_the_token_from_reads_only(method, keeps_token):
    # Given the function's own code and a request carrying a bearer token
    event = {"request": {"method": method, "uri": "/api/skills", "headers": {"authorization": {"value": "Bearer x"}}}}
    script = DROP_AUTHORIZATION_ON_READS + f"\nconsole.log(JSON.stringify(handler({json.dumps(event)})));"
    # When CloudFront would run it / Then reads lose the token and writes keep it
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout
    assert ("authorization" in json.loads(out)["headers"]) is keeps_token
