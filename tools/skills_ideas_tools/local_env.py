"""The local AWS the handlers run against: DynamoDB (Local, or moto) and S3 (moto), one state dir.

``local_stack()`` is the one way in, for ``serve``, ``invoke``, the later ``migrate``/``admin``
commands and the tests::

    from skills_ideas_tools.local_env import local_stack

    with local_stack(tmp_path, engine="moto") as services:
        services.client("dynamodb").describe_table(TableName=services.table_name)

Inside the block the handlers' environment (TABLE_NAME, endpoints, JWT_SECRET, fake AWS
credentials...) is exported to ``os.environ``; it is restored afterwards. If ``serve`` is
already running on the same state dir, its services are reused instead of starting new ones.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from skills_ideas.schema import STREAM_SPECIFICATION, create_table_kwargs

from .dynamodb_local import DynamoDBLocal, DynamoDBLocalUnavailable, answers

log = logging.getLogger("skills_ideas_tools.local")

Engine = Literal["auto", "java", "moto"]

TABLE_NAME = "skills-ideas-local"
BUCKET = "skills-ideas-catalogue-local"
DEFAULT_CATALOGUE_KEY = "catalogue/skills.json"
DEFAULT_REGION = "us-east-1"

DYNAMODB_DIR = "dynamodb"
SECRET_FILE = "jwt-secret"
CURSOR_KEY_FILE = "cursor-key"
SNAPSHOT_FILE = "catalogue-snapshot.json"
SERVICES_FILE = "services.json"
#: The emulated EventBridge bus and queues are named after this (streams.create_bus).
EVENTS_PREFIX = "skills-ideas-local"
EVENT_BUS_NAME = f"{EVENTS_PREFIX}-events"

#: Never reach a real AWS account from local tooling, whatever the shell has set.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class LocalEnvError(RuntimeError):
    """The local services cannot be provided as asked; the message says why."""


def use_fake_aws_credentials() -> str:
    """Export fake credentials and a region (before any boto3 client exists); returns the region."""
    os.environ.update(FAKE_AWS)
    os.environ.pop("AWS_PROFILE", None)
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = region
    return region


def repo_root() -> Path:
    """The checkout: the nearest parent of the cwd with the layer in it, else this file's repo."""
    for candidate in (Path.cwd(), *Path.cwd().parents):
        if (candidate / "layers" / "common" / "python" / "skills_ideas").is_dir():
            return candidate
    return Path(__file__).resolve().parents[2]


def resolve_state_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``LOCAL_STATE_DIR``, else ``.local/`` under the repository root."""
    chosen = explicit or os.environ.get("LOCAL_STATE_DIR") or repo_root() / ".local"
    return Path(chosen).resolve()


def default_catalogue_path() -> Path:
    return repo_root() / "layers" / "common" / "python" / "skills_ideas" / "data" / "skills.json"


def jwt_secret(state_dir: Path) -> str:
    """The local signing key: generated once into the state dir (mode 0600), then reused."""
    return local_secret(state_dir, SECRET_FILE)


def local_secret(state_dir: Path, name: str) -> str:
    """A local key (JWT signing, cursor signing): generated once into the state dir (mode 0600)."""
    path = state_dir / name
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def catalogue_document(raw: bytes | str) -> bytes:
    """The catalogue as stored in S3: a plain legacy list gets the document envelope."""
    data = json.loads(raw)
    if isinstance(data, list):
        next_id = max((int(skill["id"]) for skill in data), default=0) + 1
        data = {"schemaVersion": 1, "nextId": next_id, "skills": data}
    return json.dumps(data, indent=2, ensure_ascii=False).encode()


@dataclass
class LocalServices:
    """Where the local services answer, and the environment handlers need to use them."""

    state_dir: Path
    engine: str  # "dynamodb-local" or "moto"
    dynamodb_endpoint: str
    s3_endpoint: str
    region: str
    table_name: str = TABLE_NAME
    bucket: str = BUCKET
    catalogue_key: str = DEFAULT_CATALOGUE_KEY
    owner_pid: int = field(default_factory=os.getpid)
    dynamodb_pid: int | None = None
    #: The queue URL variables of the subscriptions that continue through their own queue
    #: (``streams.LocalBus.queue_env``), set once the bus exists.
    queue_urls: dict[str, str] = field(default_factory=dict)
    reused: bool = False
    _snapshot_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def env(self) -> dict[str, str]:
        """The variables config.py reads, plus Powertools settings and fake AWS credentials."""
        return {
            **FAKE_AWS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "TABLE_NAME": self.table_name,
            "DYNAMODB_ENDPOINT_URL": self.dynamodb_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "CATALOGUE_BUCKET": self.bucket,
            "CATALOGUE_KEY": self.catalogue_key,
            "S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint,
            "JWT_SECRET": jwt_secret(self.state_dir),
            "CURSOR_KEY": local_secret(self.state_dir, CURSOR_KEY_FILE),
            "STAGE": "local",
            "POWERTOOLS_SERVICE_NAME": "skills-ideas",
            "POWERTOOLS_METRICS_NAMESPACE": "SkillsIdeas",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # The bus lives in moto beside S3 (tools/skills_ideas_tools/streams.py).
            "EVENT_BUS_NAME": EVENT_BUS_NAME,
            "EVENTS_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ENDPOINT_URL_SQS": self.s3_endpoint,
            **self.queue_urls,
        }

    def client(self, service: Literal["dynamodb", "dynamodbstreams", "s3", "events", "sqs"]) -> Any:
        """A client of a local service: DynamoDB (and its stream) or moto (S3, the bus, queues)."""
        import boto3

        endpoint = self.dynamodb_endpoint if service.startswith("dynamodb") else self.s3_endpoint
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def snapshot_catalogue(self) -> Path:
        """Copy the catalogue object into the state dir (moto's S3 forgets it on exit)."""
        body = self.client("s3").get_object(Bucket=self.bucket, Key=self.catalogue_key)["Body"].read()
        target = self.state_dir / SNAPSHOT_FILE
        with self._snapshot_lock:
            tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, target)
        return target

    def publish(self, **extra: object) -> None:
        """Record these services (and e.g. the gateway URL) for other commands on this state dir."""
        data = {**self.describe(), **extra}
        tmp = self.state_dir / f"{SERVICES_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, self.state_dir / SERVICES_FILE)

    def describe(self) -> dict:
        values = {
            f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_") and f.name != "reused"
        }
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}


# ------------------------------------------------------------------------- running services file


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_services(state_dir: Path) -> dict | None:
    try:
        return json.loads((state_dir / SERVICES_FILE).read_text())
    except (OSError, ValueError):
        return None


def running_services(state_dir: Path) -> LocalServices | None:
    """The services a live ``serve`` on this state dir published, if any still answer."""
    data = _read_services(state_dir)
    if not data or data.get("owner_pid") == os.getpid() or not _pid_alive(data.get("owner_pid")):
        return None
    if not answers(data["dynamodb_endpoint"]):
        return None
    fields = {
        k: data[k]
        for k in (
            "engine",
            "dynamodb_endpoint",
            "s3_endpoint",
            "region",
            "table_name",
            "bucket",
            "catalogue_key",
            "owner_pid",
            "dynamodb_pid",
            "queue_urls",
        )
        if k in data
    }
    return LocalServices(state_dir=state_dir, reused=True, **fields)


def _stop_orphaned_dynamodb(state_dir: Path) -> None:
    """A previous serve that was killed may have left its DynamoDB Local on our database file."""
    data = _read_services(state_dir)
    if not data or _pid_alive(data.get("owner_pid")) or not _pid_alive(data.get("dynamodb_pid")):
        return
    pid = data["dynamodb_pid"]
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return
    if "DynamoDBLocal.jar" in cmdline and str(state_dir / DYNAMODB_DIR) in cmdline:
        log.warning("stopping DynamoDB Local (pid %s) left behind by an earlier run", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)
        from .dynamodb_local import wait_until

        wait_until(lambda: not _pid_alive(pid), 15)


# ------------------------------------------------------------------------------------- set-up


def _create_table(services: LocalServices) -> None:
    client = services.client("dynamodb")
    if services.table_name in client.list_tables()["TableNames"]:
        from .upgrade import upgrade_in_place

        upgraded = upgrade_in_place(client, services.table_name)
        if upgraded:
            _say(f"Upgraded the local table to key layout 2: {upgraded['ideas']} ideas rewritten")
        if not client.describe_table(TableName=services.table_name)["Table"].get("StreamSpecification"):
            client.update_table(TableName=services.table_name, StreamSpecification=STREAM_SPECIFICATION)
            _say("Turned on the local table's stream (the events and statistics read it)")
        return
    client.create_table(**create_table_kwargs(services.table_name))
    client.get_waiter("table_exists").wait(TableName=services.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def _load_catalogue(services: LocalServices, catalogue_path: Path | None) -> str:
    """Seed S3 from the last snapshot, else from the repository's default catalogue."""
    snapshot = services.state_dir / SNAPSHOT_FILE
    source = catalogue_path or default_catalogue_path()
    if snapshot.is_file():
        body, origin = snapshot.read_bytes(), f"snapshot {snapshot}"
    elif source.is_file():
        body, origin = catalogue_document(source.read_bytes()), str(source)
    else:
        log.warning("no catalogue at %s yet: serving an empty skills catalogue", source)
        body, origin = catalogue_document("[]"), "empty catalogue"
    s3 = services.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=services.bucket)
    s3.put_object(Bucket=services.bucket, Key=services.catalogue_key, Body=body, ContentType="application/json")
    return origin


@contextlib.contextmanager
def exported(env: Mapping[str, str]) -> Iterator[None]:
    """``env`` in the environment for the block, the previous values back after it."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def add_stack_arguments(parser: Any) -> None:
    """The options every command that works on the local state shares."""
    parser.add_argument("--state-dir", help="local state (default: $LOCAL_STATE_DIR or .local/)")
    parser.add_argument(
        "--engine",
        choices=("auto", "java", "moto"),
        default="auto",
        help="DynamoDB: DynamoDB Local (java), moto in memory, or auto (java, else moto)",
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def local_stack(
    state_dir: str | os.PathLike | None = None,
    *,
    engine: Engine = "auto",
    catalogue_path: str | os.PathLike | None = None,
    reuse: bool = True,
    publish: bool = False,
) -> Iterator[LocalServices]:
    """Start (or reuse) the local services for ``state_dir`` and export the handlers' environment.

    engine: "java" requires DynamoDB Local (raises LocalEnvError if it cannot run), "moto"
    uses moto in memory, "auto" tries DynamoDB Local and falls back to moto, saying so.
    reuse: use the services of a ``serve`` already running on this state dir.
    publish: record these services in the state dir so ``invoke`` & co. can reuse them (serve).
    """
    from moto.server import ThreadedMotoServer

    region = use_fake_aws_credentials()
    state = resolve_state_dir(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    catalogue = Path(catalogue_path) if catalogue_path else None

    live = running_services(state) if (reuse or publish) else None
    if live is not None:
        if publish:
            raise LocalEnvError(f"already serving from {state} (pid {live.owner_pid}); stop it first")
        with exported(live.env()):
            yield live
        return

    _stop_orphaned_dynamodb(state)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request log
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_endpoint = "http://{}:{}".format(*moto.get_host_and_port())
    dynamodb: DynamoDBLocal | None = None
    services: LocalServices | None = None
    try:
        if engine in ("auto", "java"):
            try:
                dynamodb = DynamoDBLocal(state / DYNAMODB_DIR).start()
            except DynamoDBLocalUnavailable as exc:
                if engine == "java":
                    raise LocalEnvError(f"DynamoDB Local is required but unavailable: {exc}") from exc
                _say(
                    f"DynamoDB Local unavailable ({exc}).\n"
                    "Falling back to moto IN MEMORY: table data will NOT survive a restart."
                )
        services = LocalServices(
            state_dir=state,
            engine="dynamodb-local" if dynamodb else "moto",
            dynamodb_endpoint=dynamodb.endpoint if dynamodb else moto_endpoint,
            s3_endpoint=moto_endpoint,
            region=region,
            catalogue_key=os.environ.get("CATALOGUE_KEY") or DEFAULT_CATALOGUE_KEY,
            dynamodb_pid=dynamodb.process.pid if dynamodb and dynamodb.process else None,
        )
        _create_table(services)
        from .streams import create_bus

        services.queue_urls = create_bus(services.client("events"), services.client("sqs"), EVENTS_PREFIX).queue_env()
        origin = _load_catalogue(services, catalogue)
        log.info("catalogue loaded from %s", origin)
        if publish:
            services.publish()
        try:
            with exported(services.env()):
                yield services
        finally:
            if publish:
                with contextlib.suppress(FileNotFoundError):
                    (state / SERVICES_FILE).unlink()
    finally:
        if dynamodb is not None:
            dynamodb.stop()
        _forget_moto_data(services)
        moto.stop()


def _forget_moto_data(services: LocalServices | None) -> None:
    """moto keeps its data per process: drop ours so the next stack starts from the state dir.

    Only our bucket and (moto) table are deleted, not a global reset, so moto state that tests
    of the same process hold under ``mock_aws`` is left alone.
    """
    if services is None:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    with contextlib.suppress(BotoCoreError, ClientError):
        s3 = services.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=services.bucket):
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=services.bucket, Key=version["Key"], VersionId=version["VersionId"])
        s3.delete_bucket(Bucket=services.bucket)
    if services.engine == "moto":
        with contextlib.suppress(BotoCoreError, ClientError):
            services.client("dynamodb").delete_table(TableName=services.table_name)
