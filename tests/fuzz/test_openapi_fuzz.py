"""Schemathesis against the local API, driven by docs/openapi.json: every operation, with data
that fits its schemas and data that does not, signed in (a real user's token; an admin's on
admin routes) and anonymous. Any 5xx fails, and so does a response whose status code, media
type, headers or body the document does not promise.

Bounded: a fixed number of examples per operation and no per-example deadline (the machine is
shared; speed is `make bench`'s business). `make fuzz` runs this file alone."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import REPO

DOCUMENT = REPO / "docs" / "openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)

#: Methods the coverage phase also sends to every path, to see them refused. TRACE and QUERY are
#: left out: the local gateway answers them 501 (http.server's "Unsupported method") rather than
#: 405 like every other method a path lacks, which is the gateway's to change (docs/api.md).
UNEXPECTED_METHODS = ["get", "put", "post", "delete", "options", "patch"]
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": UNEXPECTED_METHODS}}})

schema = schemathesis.openapi.from_path(DOCUMENT, config=CONFIG)


@schema.parametrize()
@BOUNDED
def test_every_operation_keeps_its_contract_for_a_signed_in_client(case, fuzz_target):
    # Given a generated request, aimed half the time at a resource that exists, with the token
    # a real client of the route sends
    fuzz_target.aim(case)
    headers = fuzz_target.headers(case.operation.path, case.operation.method)
    # When it is sent, Then the answer is no 5xx and is what the document says it can be
    case.call_and_validate(base_url=fuzz_target.url, headers=headers, checks=CHECKS, session=fuzz_target.session)


@schema.parametrize()
@BOUNDED
def test_every_operation_keeps_its_contract_for_an_anonymous_client(case, fuzz_target):
    # Given a generated request with no token at all (protected routes answer 401)
    # When it is sent, Then the answer is no 5xx and is what the document says it can be
    case.call_and_validate(base_url=fuzz_target.url, checks=CHECKS, session=fuzz_target.session)
