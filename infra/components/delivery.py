"""Skills delivery: the catalogue bucket and the CloudFront distribution in front of it all.

CloudFront behaviours:
- ``/catalogue/*`` -> the private bucket through origin access control (the static catalogue);
- ``/api/skills*`` -> the API, cached: the public skill reads, keyed on their query strings
  (from the manifest). A viewer-request function drops Authorization from GET/HEAD before the
  cache lookup, so nothing tied to a token is ever cached, while the admin writes on the same
  paths (never cached) still reach the API with their token;
- everything else (``/``, ``/api/*``) -> the API, not cached (TTL 0), Authorization forwarded.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.components.waf import WebAcl
from infra.config import StageConfig
from infra.nag import acknowledge, logical_id, managed_policy
from skills_ideas import catalogue_edits, routes

#: The cached API paths are the ones a catalogue edit invalidates (one list, in the layer).
CACHED_API_PATHS = catalogue_edits.API_PATHS
AUTHORIZATION = "Authorization"
DROP_AUTHORIZATION_ON_READS = """function handler(event) {
  var request = event.request;
  if (request.method === 'GET' || request.method === 'HEAD') {
    delete request.headers.authorization;
  }
  return request;
}"""


def cached_query_strings() -> list[str]:
    """Query strings of the public GET routes under the cached paths, from the manifest."""
    prefixes = tuple(path.rstrip("*") for path in CACHED_API_PATHS)
    names = {
        name
        for route in routes.ROUTES
        if route.method == "GET" and not route.protected and route.path.startswith(prefixes)
        for name in route.query
    }
    return sorted(names)


def catalogue_path(config: StageConfig) -> str:
    """The behaviour serving the catalogue object's folder from the bucket."""
    return f"/{config.catalogue_key.rsplit('/', 1)[0]}/*"


def _bucket_defaults(config: StageConfig) -> dict:
    return {
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "removal_policy": RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        "auto_delete_objects": not config.retain_data,
    }


class CatalogueBucket(Construct):
    """The private bucket of the skills catalogue, and the bucket of access logs."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # CloudFront standard logging writes with ACLs.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
            **_bucket_defaults(config),
        )
        acknowledge(self.logs_bucket, {"S1": "This is the access-log bucket itself; logging it would recurse."})
        self.bucket = s3.Bucket(
            self,
            "Catalogue",
            versioned=True,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/catalogue/",
            **_bucket_defaults(config),
        )


class Distribution(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        catalogue: CatalogueBucket,
        rest_api: apigw.RestApi,
        default_catalogue: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        # The origin is built from the API id alone (not rest_api.url): a function that may
        # invalidate the cache references this distribution, so the distribution must not
        # depend on the API's methods, which depend on the functions.
        api_origin = origins.HttpOrigin(
            f"{rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}",
            origin_path=f"/{config.stage}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        )
        security_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=f"{config.prefix}-security-headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy="default-src 'none'; frame-ancestors 'none'", override=True
                ),
            ),
        )
        query_strings = cached_query_strings()
        # Authorization is in the key only so that writes forward it: GET/HEAD lose it first.
        skills_cache = cloudfront.CachePolicy(
            self,
            "SkillsCache",
            cache_policy_name=f"{config.prefix}-public-skills",
            comment="Public skill reads, keyed on their query strings; GET/HEAD carry no Authorization",
            query_string_behavior=(
                cloudfront.CacheQueryStringBehavior.allow_list(*query_strings)
                if query_strings
                else cloudfront.CacheQueryStringBehavior.none()
            ),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list(AUTHORIZATION),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(config.skills_cache_default_ttl_seconds),
            max_ttl=Duration.seconds(config.skills_cache_max_ttl_seconds),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        # CloudFront forwards Authorization only when it is in the cache key. Default TTL 0 means
        # nothing is stored unless the API itself sends Cache-Control (it does not for these
        # routes); max TTL must be above 0 for a header to be allowed in the key at all.
        api_passthrough = cloudfront.CachePolicy(
            self,
            "ApiPassthrough",
            cache_policy_name=f"{config.prefix}-api-passthrough",
            comment="Dynamic API calls: not cached; forwards Authorization and the query string",
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list(AUTHORIZATION),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.seconds(1),
        )
        catalogue_cache = cloudfront.CachePolicy(
            self,
            "CatalogueCache",
            cache_policy_name=f"{config.prefix}-catalogue",
            comment="The static catalogue; a deployment invalidates it",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.minutes(5),
            max_ttl=Duration.hours(1),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        api_behaviour = {
            "origin": api_origin,
            "viewer_protocol_policy": cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            "allowed_methods": cloudfront.AllowedMethods.ALLOW_ALL,
            "origin_request_policy": cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            "response_headers_policy": security_headers,
        }
        drop_authorization = cloudfront.Function(
            self,
            "DropAuthorizationOnReads",
            comment="Public skill reads are cached: they must not carry a token",
            code=cloudfront.FunctionCode.from_inline(DROP_AUTHORIZATION_ON_READS),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        self.web_acl = WebAcl(self, "Waf", config=config, scope_name="CLOUDFRONT")
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment=f"{config.prefix}: API and skills catalogue",
            default_behavior=cloudfront.BehaviorOptions(cache_policy=api_passthrough, **api_behaviour),
            additional_behaviors={
                **{
                    path: cloudfront.BehaviorOptions(
                        cache_policy=skills_cache,
                        cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                        function_associations=[
                            cloudfront.FunctionAssociation(
                                function=drop_authorization, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                            )
                        ],
                        **api_behaviour,
                    )
                    for path in CACHED_API_PATHS
                },
                catalogue_path(config): cloudfront.BehaviorOptions(
                    origin=origins.S3BucketOrigin.with_origin_access_control(catalogue.bucket),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                    cache_policy=catalogue_cache,
                    response_headers_policy=security_headers,
                ),
            },
            web_acl_id=self.web_acl.acl.attr_arn,
            enable_logging=True,
            log_bucket=catalogue.logs_bucket,
            log_file_prefix="cloudfront/",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            publish_additional_metrics=config.cloudfront_additional_metrics,
        )
        acknowledge(
            self.distribution,
            {
                "CFR1": "A public API and catalogue: no country is excluded.",
                "CFR4": "Served on the default *.cloudfront.net certificate, where CloudFront fixes "
                "the minimum TLS version; a custom domain (ACM certificate) would allow TLSv1.2_2021.",
            },
        )
        self._deploy_catalogue(config, catalogue, default_catalogue)

    def _deploy_catalogue(self, config: StageConfig, catalogue: CatalogueBucket, source: Path) -> None:
        """Seed ``catalogue_key`` with the repository's default catalogue.

        Runs only when the file changes (the asset hash is the custom resource's input), and
        then overwrites the live object: a catalogue edited through the admin routes is kept
        by S3 versioning (docs/operations.md).
        """
        if not source.is_file():
            Annotations.of(self).add_warning_v2(
                "skills-ideas:missing-catalogue", f"{source} does not exist: the catalogue is not deployed"
            )
            return
        key = Path(config.catalogue_key)
        s3deploy.BucketDeployment(
            self,
            "DefaultCatalogue",
            sources=[s3deploy.Source.data(key.name, source.read_text(encoding="utf-8"))],
            destination_bucket=catalogue.bucket,
            destination_key_prefix=f"{key.parent.as_posix()}/",
            prune=False,
            content_type="application/json",
            cache_control=[s3deploy.CacheControl.from_string(config.catalogue_cache_control)],
            distribution=self.distribution,
            distribution_paths=[f"/{config.catalogue_key}"],
            memory_limit=256,
        )
        # The handler is a stack-level singleton that CDK creates for BucketDeployment.
        stack = Stack.of(self)
        copy_scope = "CDK's BucketDeployment handler runs only during deployments and copies the asset "
        wildcards = [
            f"Resource::arn:<AWS::Partition>:s3:::cdk-{stack.synthesizer.bootstrap_qualifier or 'hnb659fds'}"
            f"-assets-<AWS::AccountId>-{stack.region}/*",
            f"Resource::<{logical_id(catalogue.bucket)}.Arn>/*",
            *(f"Action::s3:{action}" for action in ("List*", "GetObject*", "GetBucket*", "DeleteObject*", "Abort*")),
        ]
        for handler in stack.node.children:
            if handler.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge(
                    handler,
                    {
                        "L1": "The runtime of CDK's BucketDeployment handler is chosen by aws-cdk-lib.",
                        managed_policy("service-role/AWSLambdaBasicExecutionRole"): copy_scope
                        + "(logs only; CDK attaches this policy).",
                        "IAM5[Resource::*]": copy_scope + "and invalidates the catalogue path; CDK "
                        "grants CloudFront invalidation on * (no per-distribution scoping there).",
                        **{
                            f"IAM5[{evidence}]": copy_scope + "from CDK's staging bucket into this "
                            "bucket; CDK's grants use object wildcards."
                            for evidence in wildcards
                        },
                    },
                )

