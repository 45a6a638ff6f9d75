"""Lambda REQUEST authorizer for every protected route.

Allow: the policy covers the whole API (so API Gateway can cache it per token) and the
context carries userId, username and role to the handler. Deny: the context carries the
message that the ACCESS_DENIED gateway response returns with status 401."""

from typing import Any

from aws_lambda_powertools.logging import Logger

from skills_ideas import tokens
from skills_ideas.config import AuthConfig
from skills_ideas.observability import SERVICE

AUTH = AuthConfig.from_env()
logger = Logger(service=SERVICE)


def _api_wide(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../stage/*/*
    base, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0] if rest else "*"
    return f"{base}/{stage}/*/*"


def _policy(effect: str, principal: str, resource: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def _bearer(event: dict[str, Any]) -> str | None:
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else ""
    return None


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    resource = _api_wide(str(event.get("methodArn", "")))
    token = _bearer(event)
    if token is None:
        return _policy("Deny", "anonymous", resource, {"message": "No token, authorization denied"})
    try:
        claims = tokens.verify(AUTH, token)
    except tokens.InvalidToken as error:
        logger.info("token rejected", extra={"reason": str(error)})
        return _policy("Deny", "anonymous", resource, {"message": "Token is not valid"})
    return _policy(
        "Allow",
        claims.user_id,
        resource,
        {"userId": claims.user_id, "username": claims.username, "role": claims.role},
    )
