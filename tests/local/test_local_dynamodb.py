"""DynamoDB Local (AWS's engine) started and stopped by the tooling; data survives a restart.

Runs in ``make test``: Java 17 is required and the jar comes from npm. Without Java this test
fails with the reason, it is never skipped.
"""

import os

import pytest

from skills_ideas_tools.dynamodb_local import answers, wait_until
from skills_ideas_tools.local_env import LocalEnvError, local_stack

pytestmark = pytest.mark.dynamodb_local


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited but not been reaped yet
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_dynamodb_local_starts_stops_and_keeps_its_data(tmp_path):
    item = {"PK": {"S": "USER#1"}, "SK": {"S": "PROFILE"}, "username": {"S": "ada"}}
    try:
        with local_stack(tmp_path, engine="java") as services:
            assert services.engine == "dynamodb-local"
            endpoint, pid = services.dynamodb_endpoint, services.dynamodb_pid
            assert os.environ["DYNAMODB_ENDPOINT_URL"] == endpoint
            services.client("dynamodb").put_item(TableName=services.table_name, Item=item)
    except LocalEnvError as exc:
        pytest.fail(f"DynamoDB Local must run here (Java 17 + npm): {exc}")
    # stopped on exit: the process is gone and the port no longer answers
    assert wait_until(lambda: not _alive(pid), 15)
    assert not answers(endpoint)
    assert (tmp_path / "dynamodb" / "shared-local-instance.db").is_file()

    with local_stack(tmp_path, engine="java") as services:
        got = services.client("dynamodb").get_item(
            TableName=services.table_name, Key={"PK": item["PK"], "SK": item["SK"]}
        )
        assert got["Item"] == item
