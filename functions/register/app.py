"""POST /api/register — create an account (201), 409 when the name is taken; once per Idempotency-Key.

In multi-region mode the claim and the profile are written in the home region's table
(``users.register``); 503 with Retry-After while it is unreachable."""

from typing import Any

from skills_ideas import idempotency, models, passwords, users
from skills_ideas.config import RegionConfig, TableConfig
from skills_ideas.errors import Unprocessable
from skills_ideas.http import Event, Response, api_handler, json_body, ok
from skills_ideas.observability import count

TABLE = TableConfig.from_env()
REGIONS = RegionConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    username, password = users.credentials(json_body(event))
    created: list[users.User] = []

    def create(_: dict[str, Any]) -> Response:
        user = users.register(username, password, REGIONS)
        created.append(user)
        count("UserRegistered")
        return ok(user.public(), status_code=201, message="User registered successfully")

    # The password never enters the idempotency record, not even hashed: the record checks the
    # username, and a replayed keyed request proves the password against the account's own
    # argon2 hash (a request that just created the account has nothing left to prove).
    response = idempotency.once("register", TABLE, event, context, None, {"username": username}, create)
    if idempotency.key_of(event) is not None and not created:
        found = users.find_login(username)
        if found is None and not REGIONS.is_home:
            raise users.not_replicated_yet()
        if found is None or not passwords.verify(password, found[1]):
            raise Unprocessable(f"This {idempotency.HEADER} was already used with a different request body")
    return response
