"""Skills delivery: the catalogue bucket and the CloudFront distribution in front of it all.

The live catalogue object (``catalogue_key``) is created once from the repository's default
catalogue, only if it does not exist yet (``CatalogueSeed``); after that only the admin routes
(compare-and-swap on its ETag) and deliberate operator restores write it. No deploy does.

CloudFront behaviours:
- ``/catalogue/*`` -> the private bucket through origin access control (the static catalogue);
- ``/api/skills*`` -> the API, cached: the public skill reads, keyed on their query strings
  (from the manifest). A viewer-request function drops Authorization from GET/HEAD before the
  cache lookup, so nothing tied to a token is ever cached, while the admin writes on the same
  paths (never cached) still reach the API with their token;
- ``/api/ideas*`` -> the API, cached as long as the API's own ``Cache-Control`` says (5 s for
  the public idea reads, nothing for errors), keyed on the listing's query strings; GET/HEAD lose
  Authorization as above;
- everything else (``/``, ``/api/*``) -> the API, not cached (TTL 0), Authorization forwarded.

Every request CloudFront forwards to the API carries the origin-verify token
(``secrets.OriginVerifySecret``): the API stage's web ACL blocks requests without it, so the
edge web ACL (``waf.EdgeWebAcl``) cannot be bypassed through the execute-api URL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Aws, CfnResource, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.components.lifecycle import log_retention, removal_policy
from infra.components.secrets import ORIGIN_VERIFY_HEADER
from infra.components.waf import EdgeWebAcl
from infra.config import StageConfig
from infra.nag import acknowledge, managed_policy
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


#: The public idea reads (feed pages, one idea): cached for the few seconds the API's own
#: Cache-Control allows (ideas.PUBLIC_CACHE_CONTROL), which is most of the cost target's way.
CACHED_IDEA_PATHS = ("/api/ideas*",)


def cached_query_strings(paths: tuple[str, ...] = CACHED_API_PATHS) -> list[str]:
    """Query strings of the public GET routes under ``paths``, from the manifest."""
    prefixes = tuple(path.rstrip("*") for path in paths)
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


def _bucket(scope: Construct, construct_id: str, config: StageConfig, **props: Any) -> s3.Bucket:
    """A private, encrypted, TLS-only bucket that lives as long as the stage's data."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        removal_policy=removal_policy(config),
        auto_delete_objects=not config.retain_data,
        **props,
    )


def _replication(replicas: Sequence[s3.IBucket]) -> dict[str, Any]:
    """Replication rules to each replica bucket (none: no replication settings at all)."""
    if not replicas:
        return {}
    return {
        "replication_rules": [
            s3.ReplicationRule(
                destination=replica,
                priority=number,
                # Admin deletes (delete markers) are replicated too: the replica is the same catalogue.
                delete_marker_replication=True,
                # Replication Time Control: 99.99% of objects within 15 minutes, with metrics.
                replication_time_control=s3.ReplicationTimeValue.FIFTEEN_MINUTES,
                metrics=s3.ReplicationTimeValue.FIFTEEN_MINUTES,
            )
            for number, replica in enumerate(replicas)
        ]
    }


def replica_bucket(scope: Construct, construct_id: str, config: StageConfig) -> s3.Bucket:
    """A secondary region's copy of the catalogue bucket (the destination of ``_replication``)."""
    bucket = _bucket(scope, construct_id, config, versioned=True)
    acknowledge(
        bucket,
        {
            "S1": "A replication destination only: objects arrive by S3 replication from the primary "
            "catalogue bucket, whose access is logged; nothing reads it until a failover promotes it.",
        },
    )
    return bucket


class CatalogueBucket(Construct):
    """The private bucket of the skills catalogue, the bucket of access logs, and the one-time
    seed of the live catalogue object; with ``replicas``, every object version is copied to
    each of them by S3 Cross-Region Replication (docs/multi-region.md)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        default_catalogue: Path,
        replicas: Sequence[s3.IBucket] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.logs_bucket = _bucket(
            self,
            "AccessLogs",
            config,
            # CloudFront standard logging writes with ACLs.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
        )
        acknowledge(self.logs_bucket, {"S1": "This is the access-log bucket itself; logging it would recurse."})
        self.bucket = _bucket(
            self,
            "Catalogue",
            config,
            versioned=True,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/catalogue/",
            **_replication(replicas),
        )
        self.seed = CatalogueSeed(self, "Seed", config=config, bucket=self.bucket, source=default_catalogue)
        if not config.retain_data:
            self._keep_cleanup_logs_in_the_stack(config)

    #: CDK's stack-level provider that empties auto-deleted buckets.
    AUTO_DELETE_PROVIDER = "Custom::S3AutoDeleteObjectsCustomResourceProvider"

    def _keep_cleanup_logs_in_the_stack(self, config: StageConfig) -> None:
        """CDK's provider that empties the buckets when the stack is deleted would have Lambda
        create its log group at that very moment, outside the stack, and leave it behind. The
        group is created here instead, and deleted only after the buckets were emptied."""
        provider = Stack.of(self).node.try_find_child(self.AUTO_DELETE_PROVIDER)
        handler = provider.node.try_find_child("Handler") if provider is not None else None
        if not isinstance(handler, CfnResource):
            raise RuntimeError(f"{self.AUTO_DELETE_PROVIDER}/Handler not found: did CDK rename it?")
        group = logs.LogGroup(
            self,
            "BucketCleanupLogs",
            log_group_name=Fn.join("", ["/aws/lambda/", handler.ref]),
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        for bucket in (self.logs_bucket, self.bucket):
            cleanup = bucket.node.try_find_child("AutoDeleteObjectsCustomResource")
            if cleanup is None:
                raise RuntimeError(f"{bucket.node.path} has no AutoDeleteObjectsCustomResource: did CDK rename it?")
            cleanup.node.add_dependency(group)


class CatalogueSeed(Construct):
    """Create ``catalogue_key`` from the repository's default catalogue, once, if it is absent.

    The live object belongs to the admins from then on: a deploy never writes it again. The
    custom resource has only a Create call (a stack update that changes the default file is an
    Update, and an Update or Delete with no call does nothing), and that call is a conditional
    create (``If-None-Match: *``): over a bucket that already holds the key (a stack re-created
    over a retained prod bucket) S3 answers 412 and the seed gives way, keeping the data. An
    operator who wants the default back writes it deliberately (docs/skills-catalogue.md).
    """

    #: S3's answers when the key already exists (412), or another conditional write to it is in
    #: flight (409): in both cases someone else's catalogue wins.
    IGNORED_ERRORS = "^(PreconditionFailed|ConditionalRequestConflict)$"

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, bucket: s3.IBucket, source: Path
    ) -> None:
        super().__init__(scope, construct_id)
        self.resource: cr.AwsCustomResource | None = None
        if not source.is_file():
            Annotations.of(self).add_warning_v2(
                "skills-ideas:missing-catalogue", f"{source} does not exist: the catalogue is not seeded"
            )
            return
        body = source.read_text(encoding="utf-8")
        document = json.loads(body)
        if not isinstance(document, dict) or not isinstance(document.get("skills"), list):
            raise ValueError(f"{source}: not a catalogue document (an object with a 'skills' list)")
        self.resource = cr.AwsCustomResource(
            self,
            "Create",
            resource_type="Custom::CatalogueSeed",
            on_create=cr.AwsSdkCall(
                service="S3",
                action="putObject",
                parameters={
                    "Bucket": bucket.bucket_name,
                    "Key": config.catalogue_key,
                    "Body": body,
                    "ContentType": "application/json",
                    "CacheControl": config.catalogue_cache_control,
                    "IfNoneMatch": "*",
                },
                physical_resource_id=cr.PhysicalResourceId.of(f"{config.prefix}-catalogue-seed"),
                ignore_error_codes_matching=self.IGNORED_ERRORS,
                # The catalogue is public data, but the response needs no place in the logs.
                logging=cr.Logging.with_data_hidden(),
            ),
            # No on_update / on_delete: neither a deploy nor a stack deletion touches the object.
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["s3:PutObject"], resources=[bucket.arn_for_objects(config.catalogue_key)]
                    )
                ]
            ),
            # The Lambda runtime's bundled SDK knows IfNoneMatch; no npm install at deploy time.
            install_latest_aws_sdk=False,
            timeout=Duration.minutes(2),
            # The provider's own log group, in the stack: it goes with a disposable stage.
            log_group=logs.LogGroup(
                self,
                "Logs",
                retention=log_retention(config.log_retention_days),
                removal_policy=removal_policy(config),
            ),
        )
        # The provider is a stack-level singleton that CDK creates for AwsCustomResource.
        provider = Stack.of(self).node.try_find_child(
            f"AWS{cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace('-', '')}"
        )
        if provider is not None:
            acknowledge(
                provider,
                {
                    managed_policy("service-role/AWSLambdaBasicExecutionRole"): "CDK attaches this "
                    "policy to its AwsCustomResource provider for the provider's own logs; the only "
                    "data grant is s3:PutObject on the catalogue key.",
                },
            )


@dataclass(frozen=True)
class ApiOrigin:
    """Where CloudFront sends API requests: a host name and the path in front of every request."""

    domain_name: str
    path: str

    @classmethod
    def of_rest_api(cls, rest_api: apigw.IRestApi, stage: str) -> ApiOrigin:
        """The stage of one API on its execute-api host. Built from the API id alone (not
        rest_api.url): a function that may invalidate the cache references the distribution,
        so the distribution must not depend on the API's methods, which depend on the functions."""
        return cls(f"{rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}", f"/{stage}")


class Distribution(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        catalogue: CatalogueBucket,
        api: ApiOrigin,
        origin_verify_token: str,
    ) -> None:
        super().__init__(scope, construct_id)
        api_origin = origins.HttpOrigin(
            api.domain_name,
            origin_path=api.path,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            custom_headers={ORIGIN_VERIFY_HEADER: origin_verify_token},
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
        idea_query_strings = cached_query_strings(CACHED_IDEA_PATHS)
        # Default TTL 0: only what the API marks public is kept, for as long as it says (max-age=5).
        ideas_cache = cloudfront.CachePolicy(
            self,
            "IdeasCache",
            cache_policy_name=f"{config.prefix}-public-ideas",
            comment="Public idea reads, for as long as the API's Cache-Control allows; GET/HEAD carry no Authorization",
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(*idea_query_strings),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list(AUTHORIZATION),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.seconds(30),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        catalogue_cache = cloudfront.CachePolicy(
            self,
            "CatalogueCache",
            cache_policy_name=f"{config.prefix}-catalogue",
            comment="The live catalogue object; every admin edit invalidates it",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.minutes(5),
            max_ttl=Duration.hours(1),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        api_behaviour: dict[str, Any] = {
            "origin": api_origin,
            "viewer_protocol_policy": cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            "allowed_methods": cloudfront.AllowedMethods.ALLOW_ALL,
            "origin_request_policy": cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            "response_headers_policy": security_headers,
        }
        drop_authorization = cloudfront.Function(
            self,
            "DropAuthorizationOnReads",
            comment="Public skill and idea reads are cached: they must not carry a token",
            code=cloudfront.FunctionCode.from_inline(DROP_AUTHORIZATION_ON_READS),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )

        def cached_read(policy: cloudfront.CachePolicy) -> cloudfront.BehaviorOptions:
            """A behaviour whose GET/HEAD are cached by ``policy`` and reach the API without a token."""
            return cloudfront.BehaviorOptions(
                cache_policy=policy,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=drop_authorization, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
                **api_behaviour,
            )

        self.web_acl = EdgeWebAcl(self, "Waf", config=config)
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment=f"{config.prefix}: API and skills catalogue",
            default_behavior=cloudfront.BehaviorOptions(cache_policy=api_passthrough, **api_behaviour),
            additional_behaviors={
                **{path: cached_read(skills_cache) for path in CACHED_API_PATHS},
                **{path: cached_read(ideas_cache) for path in CACHED_IDEA_PATHS},
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
