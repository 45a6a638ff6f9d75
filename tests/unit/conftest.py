from __future__ import annotations

import pytest
from moto import mock_aws

from tests.support import create_catalogue, create_table, fresh_models


@pytest.fixture
def aws():
    """A fresh moto world with the table and the default catalogue in it."""
    with mock_aws(), fresh_models():
        create_table()
        create_catalogue()
        yield
