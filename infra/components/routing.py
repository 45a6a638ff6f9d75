"""Multi-region: how CloudFront finds the nearest healthy regional API (docs/multi-region.md).

CloudFront's API origin is one name, ``StageConfig.origin_domain`` (``api-origin-<stage>.<zone>``).
Each regional stack gives that name, in the configured hosted zone:

- a custom domain on its REST API (regional endpoint, TLS 1.2, the API's stage at the root, so
  CloudFront's origin path is empty) with an ACM certificate validated by DNS in the zone;
- a latency-routed alias record to that custom domain, identified by the region;
- a Route 53 health check of ``GET /<stage>/api/health`` on the API's own execute-api host
  (the health route reads the table), every 10 s, unhealthy after 3 failures: Route 53 then
  answers the name with another region's record.

Route 53 and ACM take the record and the certificate from any region's stack, so each region
owns its own record: the global stack (CloudFront) needs nothing from a regional stack, and
the regional stacks, which need the distribution, can depend on it without a cycle.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from infra.config import StageConfig

HEALTH_PATH = "/api/health"
HEALTH_CHECK_INTERVAL = Duration.seconds(10)
HEALTH_CHECK_FAILURES = 3
#: Route 53 publishes its health checks' metrics (``HealthCheckStatus``) in this region only:
#: their alarms live there (infra/regions.py, the failover alarms' stack).
HEALTH_CHECK_METRICS_REGION = "us-east-1"


def health_check_path(config: StageConfig) -> str:
    """The health route as the execute-api host serves it (the stage's name first)."""
    return f"/{config.stage}{HEALTH_PATH}"


class RegionalOrigin(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, rest_api: apigw.RestApi, region: str
    ) -> None:
        super().__init__(scope, construct_id)
        if not config.hosted_zone_id or not config.hosted_zone_name:
            raise ValueError(f"stage {config.stage}: a regional origin needs the hosted zone")
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=config.hosted_zone_id, zone_name=config.hosted_zone_name
        )
        certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=config.origin_domain,
            validation=acm.CertificateValidation.from_dns(zone),
        )
        self.domain = apigw.DomainName(
            self,
            "Domain",
            domain_name=config.origin_domain,
            certificate=certificate,
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
            mapping=rest_api,
        )
        self.health_check = route53.HealthCheck(
            self,
            "HealthCheck",
            type=route53.HealthCheckType.HTTPS,
            fqdn=f"{rest_api.rest_api_id}.execute-api.{region}.{Aws.URL_SUFFIX}",
            resource_path=health_check_path(config),
            request_interval=HEALTH_CHECK_INTERVAL,
            failure_threshold=HEALTH_CHECK_FAILURES,
            enable_sni=True,
        )
        self.record = route53.ARecord(
            self,
            "Latency",
            zone=zone,
            record_name=config.origin_domain,
            target=route53.RecordTarget.from_alias(targets.ApiGatewayDomain(self.domain)),
            region=region,
            set_identifier=f"{config.prefix}-{region}",
            health_check=self.health_check,
        )
