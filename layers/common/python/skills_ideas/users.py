"""Accounts: registration, login and profiles (logic and data access)."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from skills_ideas import contract, models, passwords
from skills_ideas.config import RegionConfig
from skills_ideas.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable
from skills_ideas.faults import RETRY_AFTER_SECONDS
from skills_ideas.ids import ulid
from skills_ideas.models import now_iso, user_key, username_key
from skills_ideas.validation import SECRET, refuse_forbidden

#: A whole new username (``\Z``: ``$`` would also match before a final newline).
USERNAME_RE = re.compile(rf"\A[{contract.USERNAME_CHARACTERS}]{{{contract.USERNAME_MIN},{contract.USERNAME_MAX}}}\Z")
ROLES = contract.ROLES
#: ``status`` of a profile whose account is being, or has been, deleted.
DELETED = "deleted"
#: Owner of migrated ideas whose legacy user is gone. It has no username claim and no
#: password, so nobody can log in as it.
ORPHAN_OWNER_ID = "legacy-orphans"
#: Tries of the registration transaction while a concurrent one holds the same items.
TRANSACTION_ATTEMPTS = 4


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: str
    created_at: str
    #: Sessions of another epoch are refused (``sessions.check``); a password change moves it on.
    session_epoch: int = 0

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username}

    def profile(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "role": self.role, "createdAt": self.created_at}


def _user(item: models.UserModel) -> User:
    return User(item.userId, item.username, item.role, item.createdAt, int(item.sessionEpoch or 0))


def is_deleted(item: models.UserModel) -> bool:
    return item.status == DELETED


def credentials(body: dict[str, Any]) -> tuple[str, str]:
    """Username and password as sent (login looks a legacy name up as typed). Neither may
    hold NUL or an unpaired surrogate; a username no control character either."""
    username, password = body.get("username"), body.get("password")
    if not username or not password:
        raise BadRequest("Username and password are required")
    if not isinstance(username, str) or not isinstance(password, str):
        raise BadRequest("Username and password must be strings")
    refuse_forbidden(username, "Username")
    refuse_forbidden(password, "Password", SECRET)
    return username, password


def validate_new(username: str, password: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest(
            f"Username must be {contract.USERNAME_MIN}-{contract.USERNAME_MAX} characters: "
            "letters, digits, '_', '.' or '-'"
        )
    if not contract.PASSWORD_MIN <= len(password) <= contract.PASSWORD_MAX:
        raise BadRequest(f"Password must be {contract.PASSWORD_MIN}-{contract.PASSWORD_MAX} characters long")


def register(username: str, password: str, regions: RegionConfig | None = None) -> User:
    """Create a user. The user item and the username claim are written in one transaction,
    each conditioned on not existing: of two concurrent registrations of one name (in any
    spelling: see ``username_key``) exactly one succeeds; the other gets 409. The name is
    kept in NFC, the form it is shown in.

    ``regions``: in multi-region mode, outside the home region, the transaction runs against
    the home region's table, so its conditions see every claim made in any region (global
    tables settle concurrent writes by last writer wins, which would keep two profiles and one
    claim). The profile and the claim then replicate here like any write. An unreachable home
    region fails within the time budget: the caller answers 503 with Retry-After."""
    username = unicodedata.normalize("NFC", username)
    validate_new(username, password)
    user = User(ulid(), username, "user", now_iso())
    if regions is None or regions.is_home:
        put_user(user, passwords.hash_password(password))
    else:
        home = models.home_connection(regions.home, regions.home_endpoint_url)
        put_user(user, passwords.hash_password(password), connection=home, written_in=regions.home)
    return user


def not_replicated_yet() -> ServiceUnavailable:
    """A replayed registration whose account, made in the home region, has not reached this
    region's replica yet (replication takes about a second): retry shortly."""
    error = ServiceUnavailable("The account is still being created; retry in a few seconds")
    error.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return error


def user_items(
    user: User, password_hash: str | None, legacy_id: str | None = None
) -> tuple[models.UserModel, models.UsernameModel]:
    """The user item and its username claim (registration, and the legacy migration)."""
    item = models.UserModel(
        user_key(user.id),
        userId=user.id,
        username=user.username,
        usernameLower=user.username.lower(),
        passwordHash=password_hash,
        role=user.role,
        createdAt=user.created_at,
        legacyId=legacy_id,
    )
    claim = models.UsernameModel(username_key(user.username), userId=user.id, username=user.username)
    return item, claim


def put_user(
    user: User,
    password_hash: str | None,
    legacy_id: str | None = None,
    connection: Connection | None = None,
    written_in: str | None = None,
) -> None:
    """Write a user and its username claim atomically; Conflict if the name is taken.
    ``connection`` and ``written_in``: the table written and its region, when not the bound
    one (the home region's, see ``register``).

    DynamoDB cancels a transaction with ``TransactionConflict`` (not a failed condition)
    while another transaction on the same claim is still in flight, as in a registration
    race: try again shortly, and the condition then decides between success and 409."""
    item, claim = user_items(user, password_hash, legacy_id)
    models.stamp(item, written_in)
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            with TransactWrite(connection=connection or models.connection()) as transaction:
                transaction.save(item, condition=models.UserModel.pk.does_not_exist())
                transaction.save(claim, condition=models.UsernameModel.pk.does_not_exist())
            return
        except TransactWriteError as error:
            reasons = [getattr(r, "code", None) for r in (error.cancellation_reasons or []) if r]
            if "ConditionalCheckFailed" in reasons:
                raise Conflict("User already exists") from None
            if "TransactionConflict" not in reasons or attempt == TRANSACTION_ATTEMPTS:
                raise
        time.sleep(0.02 * attempt)


def legacy_username_key(username: str) -> str:
    """The claim key of a name before keys were case folded: the lower-cased name. Claims
    the legacy migration wrote then carry it."""
    return f"USERNAME#{username.lower()}"


def _claim(username: str) -> models.UsernameModel | None:
    """The claim of a login name. When the name's old lower-cased key differs from its case
    fold (``Straße``, ``ａｄａ``: only possible for migrated names, since new names are
    ASCII), a claim under the old key is the exact name a migrated user logs in with, so it
    is looked up first; otherwise the name's claim is under its case fold."""
    keys = [username_key(username)]
    if legacy_username_key(username) != keys[0]:
        keys.insert(0, legacy_username_key(username))
    for key in keys:
        try:
            return models.UsernameModel.get(key, "USERNAME")
        except models.UsernameModel.DoesNotExist:
            continue
    return None


def find_login(username: str) -> tuple[User, str] | None:
    """The user and stored hash for a login name (in any spelling of the same name), or None."""
    if len(username) > 255:
        return None
    claim = _claim(username)
    if claim is None:
        return None
    try:
        item = models.UserModel.get(user_key(claim.userId), "PROFILE")
    except models.UserModel.DoesNotExist:
        return None
    if not item.passwordHash or is_deleted(item):
        return None
    return _user(item), item.passwordHash


def authenticate(username: str, password: str) -> User | None:
    """The user when the password is right; None otherwise, after the same amount of work
    whether or not the user exists. A legacy bcrypt hash is upgraded to argon2id."""
    return verified(find_login(username), password)


def verified(found: tuple[User, str] | None, password: str) -> User | None:
    """``authenticate`` once ``find_login`` has answered."""
    if found is None:
        passwords.burn_time(password)
        return None
    user, stored = found
    if not passwords.verify(password, stored):
        return None
    if passwords.needs_upgrade(stored):
        upgrade_hash(user.id, stored, passwords.hash_password(password))
    return user


def upgrade_hash(user_id: str, old_hash: str, new_hash: str) -> None:
    """Replace a hash, only if it is still the one we verified (a concurrent login may have
    upgraded it already: then there is nothing to do)."""
    item = models.UserModel(user_key(user_id), "PROFILE")
    try:
        item.update(
            actions=models.stamped(models.UserModel, [models.UserModel.passwordHash.set(new_hash)]),
            condition=models.UserModel.passwordHash == old_hash,
        )
    except UpdateError as error:
        if not models.condition_failed(error):
            raise


def get(user_id: str) -> User:
    return _user(_profile(user_id, consistent=False))


def _profile(user_id: str, *, consistent: bool = True) -> models.UserModel:
    """The profile of a live account; NotFound once it is deleted."""
    try:
        item = models.UserModel.get(user_key(user_id), "PROFILE", consistent_read=consistent)
    except models.UserModel.DoesNotExist:
        raise NotFound("User not found") from None
    if is_deleted(item):
        raise NotFound("User not found")
    return item


def check_password(user_id: str, password: str) -> tuple[User, str]:
    """The user and their stored hash when ``password`` is theirs; Forbidden otherwise (the
    caller is logged in: a wrong password is not a reason to drop their token)."""
    item = _profile(user_id)
    if not item.passwordHash or not passwords.verify(password, item.passwordHash):
        raise Forbidden("Password is incorrect")
    return _user(item), item.passwordHash


def change_password(user: User, old_hash: str, new_hash: str, keep_session: str) -> int:
    """Store ``new_hash`` and move the session epoch on, keeping only ``keep_session`` in the
    new epoch: one transaction, so every other session is refused from this write on, however
    many there are. Conflict when the password changed meanwhile. Returns the new epoch."""
    epoch = user.session_epoch + 1
    profile = models.UserModel(user_key(user.id), "PROFILE")
    session = models.SessionModel(user_key(user.id), f"SESSION#{keep_session}")
    try:
        with TransactWrite(connection=models.connection()) as transaction:
            transaction.update(
                profile,
                actions=models.stamped(
                    models.UserModel,
                    [models.UserModel.passwordHash.set(new_hash), models.UserModel.sessionEpoch.set(epoch)],
                ),
                condition=(models.UserModel.passwordHash == old_hash) & models.UserModel.status.does_not_exist(),
            )
            transaction.update(
                session, actions=[models.SessionModel.epoch.set(epoch)], condition=models.SessionModel.pk.exists()
            )
    except TransactWriteError as error:
        reasons = [getattr(r, "code", None) for r in (error.cancellation_reasons or []) if r]
        if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
            raise Conflict("Your password or session changed at the same time; log in again and retry") from None
        raise
    return epoch


def mark_deleted(user_id: str, verified_hash: str) -> None:
    """Start deleting an account: from this write on, login and the authorizer refuse it.
    Conditioned on the hash just verified (a concurrent password change wins)."""
    item = models.UserModel(user_key(user_id), "PROFILE")
    try:
        item.update(
            actions=models.stamped(
                models.UserModel, [models.UserModel.status.set(DELETED), models.UserModel.deletedAt.set(now_iso())]
            ),
            condition=(models.UserModel.passwordHash == verified_hash) & models.UserModel.status.does_not_exist(),
        )
    except UpdateError as error:
        if not models.condition_failed(error):
            raise
        raise Conflict("The account changed at the same time; log in again and retry") from None


def release_name(user_id: str, username: str) -> None:
    """Delete the username claim of a deleted account, so the name is free for anyone. Only a
    claim that still names this user goes (a legacy name may have two keys)."""
    keys = {username_key(username), legacy_username_key(username)}
    for key in keys:
        try:
            models.UsernameModel(key, "USERNAME").delete(condition=models.UsernameModel.userId == user_id)
        except DeleteError as error:
            if not models.condition_failed(error):
                raise


def delete_profile(user_id: str) -> None:
    """The last step of a deletion: the profile itself (only a deleted one)."""
    models.UserModel(user_key(user_id), "PROFILE").delete(condition=models.UserModel.status == DELETED)


def deleted_profile(user_id: str) -> User | None:
    """A profile whose deletion is under way, or None."""
    try:
        item = models.UserModel.get(user_key(user_id), "PROFILE", consistent_read=True)
    except models.UserModel.DoesNotExist:
        return None
    return _user(item) if is_deleted(item) else None


def set_role(username: str, role: str) -> User:
    """Grant or revoke a role (operator command). The request authorizer reads the role of
    every token's account, so it takes effect within the authorizer cache TTL."""
    if role not in ROLES:
        raise BadRequest(f"Role must be one of: {', '.join(ROLES)}")
    found = find_login(username)
    if found is None:
        raise NotFound(f"No user named {username!r}")
    user = found[0]
    item = models.UserModel(user_key(user.id), "PROFILE")
    item.update(
        actions=models.stamped(models.UserModel, [models.UserModel.role.set(role)]),
        condition=models.UserModel.pk.exists(),
    )
    return User(user.id, user.username, role, user.created_at, user.session_epoch)
