"""Two regions of one stage, simulated: a DynamoDB Local process per region (the table's
replicas), the replicator of tools/skills_ideas_tools/regions.py between them (global tables'
last writer wins, driven by the test), and per region the real handlers bound to its replica
and its AWS_REGION, its own bus (moto's EventBridge and SQS) and its event pipeline
(tools/skills_ideas_tools/streams.py). docs/multi-region.md says what each test proves.

Protected calls go through the region's own request authorizer first, as API Gateway does (with
no cache: the cloud adds its authorizer cache TTL to every bound these tests show)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from skills_ideas import schema
from skills_ideas.events import bus as event_bus
from skills_ideas.events import stats
from skills_ideas_tools.dynamodb_local import DynamoDBLocal
from skills_ideas_tools.local_env import exported
from skills_ideas_tools.regions import Replica, Replicator
from skills_ideas_tools.streams import EventPipeline, create_bus
from tests.support import METHOD_ARN, REPO, LambdaContext, event, fresh_models

HOME, SECOND = "us-east-1", "eu-west-1"
REGIONS = (HOME, SECOND)
PASSWORD = "correct-horse-battery"
#: Every variable a region's handlers read that differs between regions.
REGION_VARIABLES = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "TABLE_NAME",
    "DYNAMODB_ENDPOINT_URL",
    "HOME_REGION",
    "REGIONS",
    "HOME_DYNAMODB_ENDPOINT_URL",
    "EVENT_BUS_NAME",
    "EVENTS_ENDPOINT_URL",
)


def environment(values: dict[str, str]) -> contextlib.AbstractContextManager[None]:
    """This region's variables for the block (the other region's unset: an empty value is unset
    to every setting), the previous values back after it."""
    return exported({**dict.fromkeys(REGION_VARIABLES, ""), **values})


@dataclass
class Region:
    """One region: its replica, its handlers (imported under its environment, kept warm) and
    its event pipeline."""

    name: str
    server: DynamoDBLocal
    env: dict[str, str]
    after_call: Callable[[Region], None]
    modules: dict[str, ModuleType] = field(default_factory=dict)
    pipeline: EventPipeline | None = None

    def handler(self, function: str) -> Callable[[dict, Any], Any]:
        module = self.modules.get(function)
        if module is None:
            path = REPO / "functions" / function / "app.py"
            spec = importlib.util.spec_from_file_location(f"region_{self.name.replace('-', '_')}_{function}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            with environment(self.env):
                spec.loader.exec_module(module)  # a cold start in this region
            self.modules[function] = module
        return module.lambda_handler

    def invoke(self, function: str, payload: dict) -> Any:
        """Run a handler as Lambda would in this region (JSON in, JSON out)."""
        handler = self.handler(function)
        with environment(self.env):
            result = handler(json.loads(json.dumps(payload)), LambdaContext())
        return json.loads(json.dumps(result))

    def authorize(self, token: str) -> dict:
        evt = {
            "type": "REQUEST",
            "methodArn": METHOD_ARN.replace(HOME, self.name),
            "headers": {"Authorization": f"Bearer {token}"},
            "requestContext": {"requestId": str(uuid.uuid4()), "stage": "test"},
        }
        return self.invoke("authorizer", evt)

    def call(self, function: str, evt: dict, token: str | None = None) -> tuple[int, dict]:
        """An API request: through this region's authorizer when ``token`` is given, then the
        handler; the replicator then sees the writes it made (their write time)."""
        if token is not None:
            policy = self.authorize(token)
            if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
                return 401, {"success": False, "message": policy["context"]["message"]}
            evt["requestContext"]["authorizer"] = {"principalId": policy["principalId"], **policy["context"]}
        try:
            response = self.invoke(function, evt)
        finally:
            self.after_call(self)
        body = json.loads(response["body"]) if response.get("body") else {}
        response_headers = response.get("headers") or {}
        if response_headers.get("Retry-After"):
            body["retryAfter"] = response_headers["Retry-After"]
        return response["statusCode"], body

    # the API, as a client uses it
    def register(self, name: str, password: str = PASSWORD) -> tuple[int, dict]:
        return self.call("register", event("POST", "/api/register", body={"username": name, "password": password}))

    def login(self, name: str, password: str = PASSWORD) -> tuple[int, dict]:
        return self.call("login", event("POST", "/api/login", body={"username": name, "password": password}))

    def token(self, name: str, password: str = PASSWORD) -> str:
        status, body = self.login(name, password)
        assert status == 200, (self.name, body)
        return body["token"]

    def create_idea(self, token: str, title: str, status: str = "Concept") -> str:
        code, body = self.call(
            "create_idea", event("POST", "/api/ideas", body={"title": title, "status": status}), token
        )
        assert code == 201, (self.name, body)
        return body["data"]["id"]

    def on_idea(self, function: str, method: str, idea_id: str, token: str | None = None, body: Any = None):
        path = {"id": idea_id}
        evt = event(method, f"/api/ideas/{idea_id}", resource="/api/ideas/{id}", path_params=path, body=body)
        return self.call(function, evt, token)

    def stats(self) -> dict:
        code, body = self.call("get_stats", event("GET", "/api/stats"))
        assert code == 200, body
        return body["data"]

    def me(self, token: str) -> tuple[int, dict]:
        return self.call("me", event("GET", "/api/me"), token)

    def client(self) -> Any:
        return boto3.client("dynamodb", endpoint_url=self.server.endpoint, region_name=self.name)

    def items(self, prefix: str = "") -> list[dict]:
        """Every item of this replica whose partition key starts with ``prefix`` (a test-side look)."""
        found: list[dict] = []
        for page in self.client().get_paginator("scan").paginate(TableName=self.env["TABLE_NAME"], ConsistentRead=True):
            found.extend(item for item in page["Items"] if item["PK"]["S"].startswith(prefix))
        return found


@dataclass
class Simulation:
    regions: dict[str, Region]
    replicator: Replicator

    def __getitem__(self, name: str) -> Region:
        return self.regions[name]

    def replicate(self) -> int:
        return self.replicator.drain()

    def deliver_events(self) -> None:
        """Run every reachable region's stream function and consumers until they are quiet."""
        for region in self.regions.values():
            if region.name not in self.replicator.lost and region.pipeline is not None:
                region.pipeline.drain(timeout=30)

    def settle(self) -> None:
        """Replicate, deliver events, replicate what the consumers wrote, until nothing moves."""
        for _ in range(5):
            moved = self.replicate()
            self.deliver_events()
            if not moved and not self.replicate():
                return
        raise AssertionError("replication did not settle")

    def lose(self, name: str) -> None:
        """The region is gone: its table stops answering (the process stops, its data kept)."""
        self.replicator.lose(name)
        self.regions[name].server.stop()

    def restore(self, name: str) -> None:
        region = self.regions[name]
        region.server.start()
        self.replicator.restore(name)
        if region.pipeline is not None:
            region.pipeline.reader.reopen()


@pytest.fixture(scope="session")
def replicas(tmp_path_factory) -> Iterator[dict[str, DynamoDBLocal]]:
    """A DynamoDB Local per region: two processes, two ports, two database directories."""
    servers = {name: DynamoDBLocal(tmp_path_factory.mktemp(f"replica-{name}")) for name in REGIONS}
    try:
        with ThreadPoolExecutor(len(servers)) as starting:  # the two JVMs start side by side
            list(starting.map(DynamoDBLocal.start, servers.values()))
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def buses() -> Iterator[dict[str, str]]:
    """An EventBridge and SQS endpoint per region (moto servers)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    servers = {name: ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False) for name in REGIONS}
    for server in servers.values():
        server.start()
    try:
        yield {name: "http://{}:{}".format(*server.get_host_and_port()) for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def make_simulation(replicas, buses) -> Iterator[Callable[..., Simulation]]:
    """``make_simulation(home_claims=True)``: a fresh table in both replicas and both regions'
    handlers and pipelines. ``home_claims=False`` runs each region as if single-region (no
    HOME_REGION): registration claims names locally, the design this test tier argues against."""
    table = f"skills-ideas-mr-{uuid.uuid4().hex[:10]}"
    clients = {
        name: boto3.client("dynamodb", endpoint_url=server.endpoint, region_name=name)
        for name, server in replicas.items()
    }
    for client in clients.values():
        client.create_table(**schema.create_table_kwargs(table))

    def make(home_claims: bool = True) -> Simulation:
        replicator = Replicator(
            [
                Replica(
                    name,
                    clients[name],
                    boto3.client("dynamodbstreams", endpoint_url=server.endpoint, region_name=name),
                    table,
                )
                for name, server in replicas.items()
            ]
        )
        regions: dict[str, Region] = {}
        for name, server in replicas.items():
            events_client = boto3.client("events", endpoint_url=buses[name], region_name=name)
            sqs = boto3.client("sqs", endpoint_url=buses[name], region_name=name)
            local_bus = create_bus(events_client, sqs, f"{table}-{name}")
            env = {
                "AWS_REGION": name,
                "AWS_DEFAULT_REGION": name,
                "TABLE_NAME": table,
                "DYNAMODB_ENDPOINT_URL": server.endpoint,
                **local_bus.env(buses[name]),
            }
            if home_claims:
                env.update(
                    HOME_REGION=HOME,
                    REGIONS=",".join(REGIONS),
                    HOME_DYNAMODB_ENDPOINT_URL=replicas[HOME].endpoint,
                )
            region = Region(name, server, env, after_call=lambda r: replicator.capture(r.name))
            region.pipeline = EventPipeline(
                region.invoke,
                dynamodb=clients[name],
                streams=boto3.client("dynamodbstreams", endpoint_url=server.endpoint, region_name=name),
                sqs=sqs,
                table_name=table,
                bus=local_bus,
                batching_window=0,
                retry_delay=0,
            )
            regions[name] = region
        return Simulation(regions, replicator)

    event_bus._clients.clear()
    stats._client.cache_clear()
    with fresh_models():
        yield make
    event_bus._clients.clear()
    stats._client.cache_clear()
    for name, client in clients.items():
        if replicas[name].process is not None:
            client.delete_table(TableName=table)
    for module in [m for m in sys.modules if m.startswith("region_")]:
        del sys.modules[module]
