"""What every stage in an account and region shares: API Gateway's CloudWatch Logs role.

API Gateway writes access and execution logs with one role per account and region
(``AWS::ApiGateway::Account``). A stage stack that sets it fights every other stack that
does (the last deploy wins, and deleting one stack can leave the setting pointing at a
deleted role), so it lives in its own small stack, deployed once per account and region
before any stage (``cdk deploy SkillsIdeas-<stage>`` deploys it first: the stage depends on it).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import acknowledge, managed_policy

PUSH_TO_CLOUDWATCH = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class AccountSettingsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        role = iam.Role(
            self,
            "ApiGatewayCloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway writes the access and execution logs of every REST API stage",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_CLOUDWATCH)],
        )
        # Kept when the stack is deleted (the account setting would otherwise point at a
        # deleted role while stages still log), removed when its first create rolls back.
        role.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        settings = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        settings.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        acknowledge(
            role,
            {
                managed_policy(PUSH_TO_CLOUDWATCH): "AWS's documented policy for the API Gateway "
                "account role that writes access and execution logs.",
            },
        )
