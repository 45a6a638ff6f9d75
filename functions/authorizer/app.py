"""Lambda REQUEST authorizer for every protected route.

A token is allowed while its session lives (``skills_ideas.sessions.check``: one strongly
consistent BatchGetItem of the profile and the session), so logout, a password change, an
account deletion and a role change take effect as soon as API Gateway's cached answer for the
token expires (the stage's authorizer cache TTL: 60 s in dev, 300 s in prod; at once locally).
A token without a session id (issued before sessions existed) is refused: log in again.

Allow: the policy covers the whole API (so API Gateway can cache it per token) and the
context carries userId, the account's current username and role, and sessionId to the
handler. Deny: the context carries the message that the ACCESS_DENIED gateway response
returns with status 401."""

from typing import Any

from aws_lambda_powertools.logging import Logger

from skills_ideas import models, sessions, tokens
from skills_ideas.config import AuthConfig, RegionConfig, TableConfig
from skills_ideas.observability import SERVICE

AUTH = AuthConfig.from_env()
TABLE = TableConfig.from_env()
#: Multi-region: a session's last use is recorded apart from it (``skills_ideas.sessions``).
USES_APART = RegionConfig.from_env().multi_region
logger = Logger(service=SERVICE)
INVALID = "Token is not valid"
ENDED = "Session has ended; log in again"


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
        return _policy("Deny", "anonymous", resource, {"message": INVALID})
    if claims.session_id is None:
        logger.info("token rejected", extra={"reason": "no session id", "userId": claims.user_id})
        return _policy("Deny", "anonymous", resource, {"message": ENDED})
    models.bind(TABLE)
    now = sessions.clock()
    try:
        access = sessions.check(claims.user_id, claims.session_id, now, uses_apart=USES_APART)
    except sessions.Refused as refused:
        logger.info("token rejected", extra={"reason": str(refused), "userId": claims.user_id})
        return _policy("Deny", "anonymous", resource, {"message": ENDED})
    try:
        sessions.touch(access, now)
    except Exception as error:  # a missed "last used" must never turn a valid token away
        logger.warning("session last-use not recorded", extra={"error": repr(error)[:300]})
    return _policy(
        "Allow",
        access.user_id,
        resource,
        {"userId": access.user_id, "username": access.username, "role": access.role, "sessionId": access.session_id},
    )
