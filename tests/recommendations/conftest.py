"""Fixtures of the recommendations tier: the unit tier's moto world (reset per test)."""

from tests.unit.conftest import _moto_world, aws  # noqa: F401 - one moto world, reset per test
