"""POST /api/register — create an account (201), 409 when the name is taken; once per Idempotency-Key."""

from typing import Any

from skills_ideas import idempotency, models, passwords, users
from skills_ideas.config import TableConfig
from skills_ideas.errors import Unprocessable
from skills_ideas.http import Event, Response, api_handler, json_body, ok
from skills_ideas.observability import count

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    username, password = users.credentials(json_body(event))

    def create(_: dict[str, Any]) -> Response:
        user = users.register(username, password)
        count("UserRegistered")
        return ok(user.public(), status_code=201, message="User registered successfully")

    # The password never enters the idempotency record, not even hashed: the record checks the
    # username, and a keyed request proves the password against the account's own argon2 hash.
    response = idempotency.once("register", TABLE, event, context, None, {"username": username}, create)
    if idempotency.key_of(event) is not None:
        found = users.find_login(username)
        if found is None or not passwords.verify(password, found[1]):
            raise Unprocessable(f"This {idempotency.HEADER} was already used with a different request body")
    return response
