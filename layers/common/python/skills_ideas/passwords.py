"""Password hashing through passlib (the maintained ``libpass`` fork).

New hashes are argon2id at OWASP's parameters (19 MiB, t=2, p=1). bcrypt ``$2a$``/``$2b$``
hashes migrated from the legacy service are still accepted and are replaced by argon2id
after the next successful login. bcryptjs hashed only the first 72 bytes of a password, and
bcrypt 5 refuses longer input, so a bcrypt verify sees exactly those 72 bytes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from passlib.context import CryptContext

BCRYPT_MAX_BYTES = 72
MIN_LENGTH = 8
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _context() -> CryptContext:
    # Imported on first use: handlers that only read users (GET /api/me) never pay for it.
    from passlib.context import CryptContext

    return CryptContext(
        schemes=["argon2", "bcrypt"],
        default="argon2",
        deprecated=["bcrypt"],
        argon2__type="ID",
        argon2__memory_cost=19456,
        argon2__rounds=2,
        argon2__parallelism=1,
    )


def hash_password(password: str) -> str:
    return _context().hash(password)


def _is_bcrypt(stored: str) -> bool:
    return stored.startswith(("$2a$", "$2b$", "$2y$"))


def verify(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; never raises for a malformed hash."""
    secret: str | bytes = password
    if _is_bcrypt(stored):
        secret = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
    try:
        return bool(_context().verify(secret, stored))
    except (ValueError, TypeError):
        return False


def needs_upgrade(stored: str) -> bool:
    return bool(_context().needs_update(stored))


# An argon2id hash (same parameters as new hashes) of a password nobody knows.
_DECOY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$2DsHgBBCaI1xTgnBuFcKYQ$hvxylzh5VFcDKeBuDMSX1WlnKn7J7bcbopVZap6ZA7g"


def burn_time(password: str) -> None:
    """Spend the time of one real verification, so an unknown user and a wrong password
    cannot be told apart by the response time."""
    verify(password, _DECOY_HASH)
