"""The edge suite runs on the contract suite's client and API (tests/contract/conftest.py):
the local gateway by default, the deployed stage at ``E2E_BASE_URL`` under ``make e2e``."""

from __future__ import annotations

import os

import pytest

from tests.contract.conftest import Api, api, unique  # noqa: F401 - the very same client and fixture
from tests.e2e import mode


def pytest_configure(config: pytest.Config) -> None:
    mode.register_markers(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode.deselect_for_mode(config, items)


@pytest.fixture(scope="package")
def admin_token(api: Api) -> str:  # noqa: F811 - the imported fixture, by name
    """A token of a skills admin: on a deployed stage the one ``python -m tests.e2e`` made;
    locally a fresh user given the role in the local table."""
    if mode.deployed_url():
        missing = [name for name in (mode.ADMIN_USERNAME, mode.ADMIN_PASSWORD) if not os.environ.get(name)]
        assert not missing, f"{', '.join(missing)} unset: run the deployed suite with make e2e STAGE=<stage>"
        username, password = os.environ[mode.ADMIN_USERNAME], os.environ[mode.ADMIN_PASSWORD]
    else:
        from skills_ideas import users
        from tests.support import bind_models

        username, password = unique("admin"), "correct-horse-9"
        assert api.register(username, password).status == 201
        bind_models()  # the local stack's table, as its handlers see it
        users.set_role(username, "admin")
    reply = api.login(username, password)
    assert reply.status == 200, reply.raw
    return reply.body["token"]
