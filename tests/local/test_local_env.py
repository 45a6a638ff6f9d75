"""The local services: moto fallback, the table, the catalogue and its snapshot, the secret."""

import json
import os
import stat

import boto3
import pytest

from skills_ideas.routes import Route
from skills_ideas_tools import dynamodb_local
from skills_ideas_tools.gateway import running_gateway
from skills_ideas_tools.lambda_runtime import mapping_loader
from skills_ideas_tools.local_env import LocalEnvError, catalogue_document, local_stack
from skills_ideas_tools.serve import catalogue_snapshotter


@pytest.fixture
def no_java(monkeypatch):
    def missing():
        raise dynamodb_local.DynamoDBLocalUnavailable("Java was not found")

    monkeypatch.setattr(dynamodb_local, "java_executable", missing)


def _catalogue(services):
    body = services.client("s3").get_object(Bucket=services.bucket, Key=services.catalogue_key)["Body"]
    return json.loads(body.read())


def test_without_java_it_says_so_and_falls_back_to_moto(tmp_path, legacy_catalogue, no_java, capsys):
    before = os.environ.get("TABLE_NAME")
    with local_stack(tmp_path, catalogue_path=legacy_catalogue) as services:
        assert services.engine == "moto"
        assert "falling back to moto" in capsys.readouterr().err.lower()
        # the table exists with the schema's keys, reachable through the exported environment
        table = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"]).describe_table(
            TableName=os.environ["TABLE_NAME"]
        )["Table"]
        assert {k["AttributeName"] for k in table["KeySchema"]} == {"PK", "SK"}
        assert os.environ["STAGE"] == "local"
        assert os.environ["POWERTOOLS_SERVICE_NAME"] == "skills-ideas"
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        # the legacy list was wrapped in the catalogue document
        document = _catalogue(services)
        assert document["schemaVersion"] == 1 and document["nextId"] == 8
        assert [s["id"] for s in document["skills"]] == [1, 7]
    assert os.environ.get("TABLE_NAME") == before  # the environment is restored


def test_java_required_but_missing_fails_clearly(tmp_path, no_java):
    with pytest.raises(LocalEnvError, match="Java was not found"), local_stack(tmp_path, engine="java"):
        pass


def test_jwt_secret_is_generated_once_and_private(tmp_path):
    with local_stack(tmp_path, engine="moto") as services:
        first = services.env()["JWT_SECRET"]
    with local_stack(tmp_path, engine="moto") as services:
        assert services.env()["JWT_SECRET"] == first == os.environ["JWT_SECRET"]
    assert len(first.encode()) >= 32
    assert stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode) == 0o600


def test_catalogue_document_keeps_documents_as_they_are():
    document = {"schemaVersion": 1, "nextId": 40, "skills": []}
    assert json.loads(catalogue_document(json.dumps(document))) == document


def test_catalogue_writes_survive_a_restart(tmp_path, legacy_catalogue, http):
    # Given a route that writes the catalogue (admin skill writes arrive in a later issue)
    def add_skill(event, context):
        s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"])
        bucket, key = os.environ["CATALOGUE_BUCKET"], os.environ["CATALOGUE_KEY"]
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        document["skills"].append({"id": document["nextId"], **json.loads(event["body"])})
        document["nextId"] += 1
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document))
        return {"statusCode": 201, "body": "{}"}

    def list_skills(event, context):
        return {"statusCode": 200, "body": "[]"}

    routes = (
        Route("POST", "/api/skills", "add_skill", "public", "add"),
        Route("GET", "/api/skills", "list_skills", "public", "list"),
    )
    with (
        local_stack(tmp_path, engine="moto", catalogue_path=legacy_catalogue) as services,
        running_gateway(
            mapping_loader({"add_skill": add_skill, "list_skills": list_skills}),
            routes,
            after_success=catalogue_snapshotter(services),
        ) as gw,
    ):
        assert http(gw.url + "/api/skills").status == 200
        assert not (tmp_path / "catalogue-snapshot.json").exists()  # reads do not snapshot
        assert http(gw.url + "/api/skills", "POST", b'{"name": "Rust"}').status == 201
    # When the services restart (moto's S3 starts empty)
    with local_stack(tmp_path, engine="moto", catalogue_path=legacy_catalogue) as services:
        # Then the catalogue comes from the snapshot, with the new skill
        document = _catalogue(services)
        assert [s["name"] for s in document["skills"]][-1] == "Rust"
        assert document["nextId"] == 9


def test_moto_state_does_not_leak_into_the_next_stack(tmp_path, http):
    with local_stack(tmp_path / "a", engine="moto") as services:
        services.client("dynamodb").put_item(TableName=services.table_name, Item={"PK": {"S": "u"}, "SK": {"S": "x"}})
    with local_stack(tmp_path / "b", engine="moto") as services:
        assert services.client("dynamodb").scan(TableName=services.table_name)["Items"] == []
