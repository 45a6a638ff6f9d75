"""Where the HTTP suites run: the local API (default) or a deployed stage (``E2E_BASE_URL``).

The contract suite (tests/contract) and the edge suite (tests/e2e) run against the local
gateway in ``make test`` and against a stage's CloudFront URL in ``make e2e``, from the very
same test functions. A test that needs the local machinery (the table itself, the local
signing key) is marked ``local_only``; one that needs the real edge (WAF, CloudFront) is
marked ``deployed_only``. The other mode deselects them (pytest reports them as
deselected, not skipped): nothing is silently passed over.
"""

from __future__ import annotations

import os

import pytest

#: The stage's public URL (CloudFront), set by ``python -m tests.e2e``.
BASE_URL = "E2E_BASE_URL"
#: The stage's execute-api URL (the API Gateway stage itself).
DIRECT_URL = "E2E_DIRECT_URL"
STAGE = "E2E_STAGE"
ADMIN_USERNAME = "E2E_ADMIN_USERNAME"
ADMIN_PASSWORD = "E2E_ADMIN_PASSWORD"  # noqa: S105 - the name of a variable, not a password

MARKERS = {
    "local_only": "needs the local API's internals (the table, the signing key): not run against a deployed stage",
    "deployed_only": "needs a deployed stage's edge (CloudFront, WAF): run by make e2e",
}


def deployed_url() -> str | None:
    return os.environ.get(BASE_URL) or None


def register_markers(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def deselect_for_mode(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests that can run where the suite points; report the others as deselected."""
    other_mode = "local_only" if deployed_url() else "deployed_only"
    dropped = [item for item in items if item.get_closest_marker(other_mode)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker(other_mode)]
