"""Brute-force limits on passwords, per account (docs/accounts.md, "Brute-force limits").

Failed password checks are counted in two items per account name (its NFKC case fold, so
every spelling of a name shares them; a name nobody has is counted the same way):

- per (account, client IP): tight. From the 5th failure on, that client waits before its next
  try: 1 s, then 2, 4, 8 … up to 15 minutes (429 with ``Retry-After``).
- per account, from anywhere: loose. From the 100th failure on, every client waits the same
  way. An attacker spread over many addresses gets about 100 guesses per 15 minutes, while one
  attacker's 5 failures never lock the real user out from their own address.

A run of failures is forgotten 15 minutes after its first failure (the item's ``expiresAt``,
also its TTL; an item past it counts as absent before DynamoDB's TTL removes it). Counting is
an atomic ``ADD``, so concurrent failures are all counted. A successful login writes nothing
here, unless that client had failures: then its own counter is cleared.

A refused (locked) try is answered before any password is looked at, so it costs no hash
work and is not counted: it neither lengthens the wait nor reveals whether the name exists.
The clock is ``clock`` (tests replace it; nothing here sleeps).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from skills_ideas import models
from skills_ideas.errors import TooManyRequests
from skills_ideas.validation import caseless

#: Seconds since the epoch; tests put a fake clock here.
clock: Callable[[], float] = time.time

WINDOW_SECONDS = 15 * 60
FIRST_WAIT_SECONDS = 1
MAX_WAIT_SECONDS = 15 * 60


@dataclass(frozen=True)
class Limit:
    scope: str  # "client" or "account"
    #: Failures a run may have before each further try must wait.
    free_failures: int


CLIENT = Limit("client", 5)
ACCOUNT = Limit("account", 100)
MESSAGE = "Too many failed logins; try again in {seconds} s"


def wait_after(failures: int, limit: Limit) -> int:
    """Seconds to wait after the ``failures``-th failure: none before the limit, then 1 s
    doubling per failure, at most ``MAX_WAIT_SECONDS``."""
    if failures < limit.free_failures:
        return 0
    return min(FIRST_WAIT_SECONDS * 2 ** min(failures - limit.free_failures, 20), MAX_WAIT_SECONDS)


def account_key(username: str) -> str:
    """The counters' partition: a digest of the name's fold (bounded size, whatever was typed)."""
    return "LOGINFAIL#" + hashlib.sha256(caseless(username).encode()).hexdigest()[:32]


def _sort_key(limit: Limit, client_ip: str) -> str:
    return "ACCOUNT" if limit is ACCOUNT else f"CLIENT#{client_ip}"


@dataclass(frozen=True)
class Standing:
    """The failures of the current runs (0 when there is none) for one name and one client."""

    username: str
    client_ip: str
    client_failures: int = 0
    account_failures: int = 0

    def failures(self, limit: Limit) -> int:
        return self.client_failures if limit is CLIENT else self.account_failures


def _current(item: dict, now: float) -> tuple[int, float]:
    """(failures, last failure) of a raw counter item, or (0, 0) once its run is over."""
    if float(item.get("expiresAt", {}).get("N", "0")) <= now:
        return 0, 0.0
    return int(item.get("failures", {}).get("N", "0")), float(item.get("lastFailure", {}).get("N", "0"))


def standing(username: str, client_ip: str) -> Standing:
    """Read both counters (one BatchGetItem) and raise ``TooManyRequests`` while either
    says wait; otherwise the standing, for ``record_failure`` and ``forget_client``."""
    now = clock()
    pk = account_key(username)
    keys = [models.raw_key(pk, _sort_key(limit, client_ip)) for limit in (CLIENT, ACCOUNT)]
    response = models.dispatch("BatchGetItem", {"RequestItems": {"Keys": keys}})
    found = {item["SK"]["S"]: item for item in next(iter(response.get("Responses", {}).values()), [])}
    counts: dict[str, int] = {}
    for limit in (CLIENT, ACCOUNT):
        failures, last = _current(found.get(_sort_key(limit, client_ip), {}), now)
        counts[limit.scope] = failures
        wait = last + wait_after(failures, limit) - now
        if wait > 0:
            from skills_ideas import audit

            seconds = max(1, math.ceil(wait))
            audit.login_locked_out(scope=limit.scope, client_ip=client_ip, retry_after=seconds)
            raise TooManyRequests(MESSAGE.format(seconds=seconds), seconds)
    return Standing(username, client_ip, counts["client"], counts["account"])


def _add_failure(pk: str, sk: str, now: float) -> int:
    """Count one failure atomically; a run that is over starts again at 1. Returns the count."""
    counter = models.LoginFailuresModel
    item = counter(pk, sk)
    try:
        item.update(
            actions=[
                counter.failures.add(1),
                counter.lastFailure.set(now),
                # The run's end is set by its first failure (if_not_exists), not moved by later ones.
                counter.expiresAt.set(counter.expiresAt | int(now) + WINDOW_SECONDS),
            ],
            condition=(counter.expiresAt > int(now)) | counter.pk.does_not_exist(),
        )
        return int(item.failures or 1)
    except UpdateError as error:
        if not models.condition_failed(error):
            raise
    # The stored run is over: start a new one (concurrent failures of that instant may both
    # land here; the later write wins, which costs at most one uncounted failure).
    fresh = models.LoginFailuresModel(pk, sk, failures=1, lastFailure=now, expiresAt=int(now) + WINDOW_SECONDS)
    fresh.save()
    return 1


def record_failure(standing: Standing) -> int:
    """Count a failed password check on both counters (concurrently: one step of the time
    budget). Returns the client's failures in its current run."""
    now = clock()
    pk = account_key(standing.username)
    with ThreadPoolExecutor(max_workers=2) as pool:
        client = pool.submit(_add_failure, pk, _sort_key(CLIENT, standing.client_ip), now)
        account = pool.submit(_add_failure, pk, _sort_key(ACCOUNT, standing.client_ip), now)
        account.result()
        return client.result()


def forget_client(standing: Standing) -> None:
    """After a success: clear this client's run, if it had one (no write otherwise)."""
    if standing.client_failures:
        models.LoginFailuresModel(account_key(standing.username), _sort_key(CLIENT, standing.client_ip)).delete()
