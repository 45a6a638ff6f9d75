"""The data the sample events in ``events/`` name, written into the local state on demand.

Every protected sample event acts as one user in one session (``requestContext.authorizer``),
the idea events name one idea, and ``login.json`` logs that user in. ``seed()`` makes sure they
exist (a sample session that ended or expired is started again):
it creates what is missing and leaves alone what is there (an idea a sample event changed
stays changed; one it deleted comes back on the next seed). ``invoke`` seeds before every
run, and the cold-start benchmark uses the same data.

Events carry ``<token from POST /api/login>`` where a bearer token goes; ``with_sample_token``
puts a real token of the sample user there, signed with the local key. Likewise
``<refresh token from POST /api/login>``: a refresh token of the sample session, made current
on the session (so every run refreshes, however often the last one rotated it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: The sample user every protected event acts as. An admin, so the skill write events carry
#: what the authorizer really puts in a token of theirs.
USER_ID = "01JD5X8Q3ZK2M4N6P8R0T2V4W6"
USERNAME = "sample"
PASSWORD = "correct-horse-battery"
ROLE = "admin"
#: The idea of get/replace/update/delete_idea, owned by the sample user. A legacy-style id,
#: which every id format keeps resolving (migrated ideas keep theirs).
IDEA_ID = "12"
#: The session the protected events (and the sample token) belong to.
SESSION_ID = "01JD5X8Q3ZK2M4N6P8R0T2V4S5"
CREATED_AT = "2026-11-01T00:00:00.000Z"
TOKEN_PLACEHOLDER = "<token from POST /api/login>"
REFRESH_PLACEHOLDER = "<refresh token from POST /api/login>"


@dataclass(frozen=True)
class Seeded:
    """What one ``seed()`` call created (both False when everything was there already)."""

    user: bool
    idea: bool

    def describe(self) -> str:
        made = []
        if self.user:
            made.append(f"user {USERNAME!r} (password {PASSWORD!r})")
        if self.idea:
            made.append(f"idea {IDEA_ID}")
        return " and ".join(made)


class SampleConflict(RuntimeError):
    """The local state holds other data under the sample user's name or idea's id."""


def seed() -> Seeded:
    """Create the sample user and idea where missing, in the table the environment names.

    Runs inside ``local_stack`` (or any environment with TABLE_NAME and the endpoints set).
    """
    from pynamodb.exceptions import PutError

    from skills_ideas import ideas, models, passwords, users
    from skills_ideas.config import TableConfig
    from skills_ideas.errors import Conflict, NotFound

    models.bind(TableConfig.from_env())
    made_user = made_idea = False
    found = users.find_login(USERNAME)
    if found is None:
        try:
            users.put_user(users.User(USER_ID, USERNAME, ROLE, CREATED_AT), passwords.hash_password(PASSWORD))
            made_user = True
        except Conflict:
            found = users.find_login(USERNAME)  # written meanwhile by another seed: check it below
    if found is not None and found[0].id != USER_ID:
        raise SampleConflict(
            f"user {USERNAME!r} exists with id {found[0].id}, but the sample events act as {USER_ID}: "
            "reset the local state (rm -rf .local) to use the sample events"
        )
    try:
        owner = ideas.get(IDEA_ID)["userId"]
    except NotFound:
        item, alias = ideas.aliased_item(
            USER_ID,
            IDEA_ID,
            CREATED_AT,
            int(IDEA_ID),
            title="Skill-swap evenings",
            description="Monthly meetups where people teach each other one skill.",
            status="Planning",
            updatedAt=CREATED_AT,
        )
        try:
            alias.save(condition=models.IdeaAliasModel.pk.does_not_exist())
            item.save(condition=models.IdeaModel.pk.does_not_exist())
            made_idea, owner = True, USER_ID
        except PutError:
            owner = ideas.get(IDEA_ID)["userId"]  # written meanwhile by another seed
    if owner != USER_ID:
        raise SampleConflict(f"idea {IDEA_ID} belongs to {owner}, not to the sample user {USER_ID}")
    _seed_session()
    return Seeded(made_user, made_idea)


def _seed_session() -> None:
    """The sample session, live: written again when it is missing, expired or superseded."""
    import time

    from skills_ideas import models, sessions, users
    from skills_ideas.config import AuthConfig

    now = time.time()
    try:
        sessions.check(USER_ID, SESSION_ID, now)
        return
    except sessions.Refused:
        pass
    models.SessionModel(
        models.user_key(USER_ID),
        sessions.session_key(SESSION_ID),
        sessionId=SESSION_ID,
        userId=USER_ID,
        createdAt=CREATED_AT,
        lastUsedAt=sessions.iso(now),
        lastUsed=int(now),
        userAgent="curl/8.5.0",
        sourceIp="203.0.113.7",
        epoch=users.get(USER_ID).session_epoch,
        expiresAt=int(now) + AuthConfig.from_env().refresh_ttl_seconds,
    ).save()


def with_sample_token(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with every token placeholder replaced by a fresh token of the sample user,
    and every refresh token placeholder by a fresh refresh token of the sample session."""
    text = json.dumps(event)
    if TOKEN_PLACEHOLDER in text:
        from skills_ideas import tokens
        from skills_ideas.config import AuthConfig

        token = tokens.issue(
            AuthConfig.from_env(), user_id=USER_ID, username=USERNAME, role=ROLE, session_id=SESSION_ID
        )
        text = text.replace(TOKEN_PLACEHOLDER, token)
    if REFRESH_PLACEHOLDER in text:
        text = text.replace(REFRESH_PLACEHOLDER, _sample_refresh_token())
    return json.loads(text)


def _sample_refresh_token() -> str:
    """A new refresh token of the sample session, written as its current one: the session is
    made live first (an earlier sample may have ended it), and a rotation item of earlier
    refreshes is removed, so the session's own hash is the current one."""
    from skills_ideas import models, refresh_tokens, sessions

    _seed_session()
    secret, refresh_hash = refresh_tokens.new_secret()
    models.SessionModel(models.user_key(USER_ID), sessions.session_key(SESSION_ID)).update(
        actions=[models.SessionModel.refreshHash.set(refresh_hash)], condition=models.SessionModel.pk.exists()
    )
    models.dispatch("DeleteItem", {"Key": models.raw_key(models.user_key(USER_ID), sessions.refresh_key(SESSION_ID))})
    return refresh_tokens.compose(USER_ID, SESSION_ID, secret)
