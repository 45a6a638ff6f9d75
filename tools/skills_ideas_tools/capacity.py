"""``make capacity``: what every request costs, measured, and what the stack can carry.

For every endpoint (and the feed's listings one by one) this runs the real handler, each in a
fresh interpreter kept warm like a Lambda container, against DynamoDB Local (the project's own
launcher, in a temporary directory) holding 100, 10,000 and then 100,000 ideas of 1 KB:

- the DynamoDB capacity each request consumes (every call, through ``CapacityMeter``);
- the handler's import time once, its wall and CPU time per warm invocation (median of N), its
  peak RSS, its response body and what it logs: the local proxy of Lambda's billed duration;

then prices that with ``bench/prices-us-east-1.json`` for the traffic mix of
``bench/locustfile.py``, reads every limit of each stage from ``infra/config.py`` (without
synthesizing) and writes ``docs/capacity.md``::

    make capacity                                   # about five minutes on two cores
    .venv/bin/python -m skills_ideas_tools.capacity --sizes 100 --runs 5   # a quick look

Only the standard library is imported at module level: the child interpreters import this
module before the handler, and must not pay for anything else.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import io
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PRICES = REPO / "bench" / "prices-us-east-1.json"
DOC = REPO / "docs" / "capacity.md"
SIZES = (100, 10_000, 100_000)
RUNS = 20
IDEA_BYTES = 1024  # the seeded ideas: the size docs/data-model.md states its bounds for
TARGET_BYTES = 1000  # the ideas the writes change: below 1 KB, so a status change stays below too
BIG_USER = "u-many"  # owns every fifth seeded idea
PASSWORD = "correct-horse-battery"
TARGET_PER_MILLION = 2.00
HIT_RATIOS = (0.0, 0.5, 0.8, 0.9)
#: Headers CloudFront adds to every response (Via, X-Cache, X-Amz-Cf-Pop, X-Amz-Cf-Id, Date...).
EDGE_HEADER_BYTES = 250
#: One API Gateway access-log line of the stage's format (json_with_standard_fields, no caller).
ACCESS_LOG_LINE = (
    '{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","ip":"203.0.113.7","user":"-",'
    '"requestTime":"29/Nov/2026:12:34:56 +0000","httpMethod":"GET","resourcePath":"/api/ideas/{id}",'
    '"status":"200","protocol":"HTTP/1.1","responseLength":"1234"}'
)
#: Limits that are not in infra/config.py: AWS defaults (Service Quotas) and DynamoDB's
#: per-partition throughput.
ACCOUNT_CONCURRENCY = 1_000
NEW_ACCOUNT_CONCURRENCY = 10
ACCOUNT_API_RPS = 10_000
PARTITION_RCU = 3_000
PARTITION_WCU = 1_000
ON_DEMAND_TABLE_UNITS = 40_000  # per table and second, reads and writes each (default quota)
#: Lambda gives a function one full vCPU at 1,769 MB and a proportional share below.
FULL_VCPU_MB = 1_769


# ------------------------------------------------------------------------------ the requests
@dataclass(frozen=True)
class Request:
    """One request the model prices: which handler, how it is made, its share of the mix."""

    name: str
    label: str
    function: str
    #: Percent of the traffic mix (the task weights of bench/locustfile.py); 0 = measured only.
    mix: float = 0.0
    #: "skills": cached at the edge today; "ideas": a public read that could be; "" = never cached.
    edge: str = ""
    protected: bool = False
    status: int = 200
    #: docs/data-model.md's worst case for ideas of 1 KB.
    bound_rcu: float = 0.0
    bound_wcu: float = 0.0


REQUESTS: tuple[Request, ...] = (
    Request("feed", "GET /api/ideas", "list_ideas", 12, "ideas", bound_rcu=3),
    Request("feed_next", "GET /api/ideas?cursor=…", "list_ideas", 0, "ideas", bound_rcu=3),
    Request("feed_status", "GET /api/ideas?status=Completed", "list_ideas", 5, "ideas", bound_rcu=3),
    Request("feed_by_status", "GET /api/ideas?sort=status", "list_ideas", 0, "ideas", bound_rcu=3),
    Request("feed_user", f"GET /api/ideas?userId={BIG_USER}", "list_ideas", 3, "ideas", bound_rcu=3),
    Request("feed_legacy_page", "GET /api/ideas?_page=10", "list_ideas", 0, "ideas", bound_rcu=25.5),
    Request("feed_100", "GET /api/ideas?_limit=100", "list_ideas", 0, "ideas", bound_rcu=13),
    Request("get_idea", "GET /api/ideas/{id}", "get_idea", 15, "ideas", bound_rcu=1),
    Request("get_idea_legacy", "GET /api/ideas/{legacy id}", "get_idea", 0, "ideas", bound_rcu=2),
    Request("create_idea", "POST /api/ideas", "create_idea", 6, protected=True, status=201, bound_wcu=3),
    Request("patch_title", "PATCH /api/ideas/{id} title", "update_idea", 0, protected=True, bound_rcu=1, bound_wcu=3),
    Request("patch_status", "PATCH /api/ideas/{id} status", "update_idea", 4, protected=True, bound_rcu=1, bound_wcu=4),
    Request("replace_idea", "PUT /api/ideas/{id}", "replace_idea", 2, protected=True, bound_rcu=1, bound_wcu=3),
    Request("delete_idea", "DELETE /api/ideas/{id}", "delete_idea", 3, protected=True, bound_rcu=1, bound_wcu=3),
    Request("register", "POST /api/register", "register", 1, status=201, bound_wcu=4),
    Request("login", "POST /api/login", "login", 9, bound_rcu=1),
    Request("me", "GET /api/me", "me", 0, protected=True, bound_rcu=0.5),
    Request("health", "GET /api/health", "health", 0, bound_rcu=0.5),
    Request("list_skills", "GET /api/skills", "list_skills", 10, "skills"),
    Request("list_skills_filtered", "GET /api/skills?category=…&sort=name", "list_skills", 10, "skills"),
    Request("get_skill", "GET /api/skills/{id}", "get_skill", 8, "skills"),
    Request("list_skill_categories", "GET /api/skills/categories", "list_skill_categories", 6, "skills"),
    Request("list_skills_by_category", "GET /api/skills/category/{c}", "list_skills_by_category", 6, "skills"),
    Request("api_index", "GET /", "api_index"),
    Request("authorizer", "request authorizer", "authorizer"),
)
BY_NAME = {request.name: request for request in REQUESTS}

#: bench/locustfile.py's task weights (of 100), and the request each task's first call is.
LOCUST_TASKS = {
    "browse_skills": ("list_skills", 10),
    "filter_skills": ("list_skills_filtered", 10),
    "one_skill": ("get_skill", 8),
    "skill_categories": ("list_skill_categories", 6),
    "skills_in_a_category": ("list_skills_by_category", 6),
    "ideas_feed": ("feed", 12),
    "ideas_by_status": ("feed_status", 5),
    "ideas_by_author": ("feed_user", 3),
    "one_idea": ("get_idea", 15),
    "log_in_again": ("login", 9),
    "newcomer_signs_up": ("register", 1),
    "publish_an_idea": ("create_idea", 6),
    "change_an_idea": ("patch_status", 4),
    "rewrite_an_idea": ("replace_idea", 2),
    "delete_an_idea": ("delete_idea", 3),
}


def mix() -> dict[str, float]:
    """Share (0-1) of each request in the traffic mix."""
    total = sum(r.mix for r in REQUESTS)
    return {r.name: r.mix / total for r in REQUESTS if r.mix}


# ------------------------------------------------------------------------------ seeding
def padded(item: Any, size: int) -> Any:
    """``item`` (an IdeaModel) with its description grown so the stored item is ``size`` bytes."""
    from skills_ideas_tools.capacity_meter import item_bytes

    item.description = "d"
    item.description = "d" * (size - item_bytes(item.serialize()) + 1)
    return item


def seed_ideas(client: Any, table: str, start: int, stop: int, threads: int = 4) -> None:
    """Ideas ``start`` … ``stop - 1`` of 1 KB, by BatchWriteItem on a few threads: one status
    (Completed) on 1% of them, every fifth owned by ``BIG_USER``, the rest spread over 50 users."""
    from skills_ideas import ideas
    from skills_ideas_tools.capacity_meter import item_bytes

    created = "2026-01-01T00:00:00.000Z"

    def row(n: int) -> dict:
        status = "Completed" if n % 100 == 0 else ("Concept", "Planning", "In Progress", "On Hold")[n % 4]
        owner = BIG_USER if n % 5 == 0 else f"u-{n % 50}"
        item = ideas.new_item(
            owner,
            ideas.key_for(created, n),
            title=f"Idea number {n:06d}",
            description="d",
            status=status,
            createdAt=created,
            updatedAt=created,
            version=1,
        )
        serialized = item.serialize()  # padded in place: one serialization per row
        serialized["description"] = {"S": "d" * (IDEA_BYTES - item_bytes(serialized) + 1)}
        return serialized

    def write(first: int) -> None:
        requests = [{"PutRequest": {"Item": row(n)}} for n in range(first, min(first + 25, stop))]
        while requests:
            left = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = left.get(table, [])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(write, range(start, stop, 25)))


# ------------------------------------------------------------------------------ events
def template(function: str) -> dict:
    """The function's sample event (events/<function>.json): API Gateway's real shape and headers."""
    return json.loads((REPO / "events" / f"{function}.json").read_text())


def event(
    function: str,
    path: str | None = None,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
) -> dict:
    from skills_ideas_tools import samples

    evt = template(function)
    if path is not None:
        evt["path"] = path
        evt["requestContext"]["path"] = f"/{evt['requestContext'].get('stage', 'prod')}{path}"
    if path_params is not None:
        evt["pathParameters"] = path_params
    if query is not None:
        evt["queryStringParameters"] = query or None
        evt["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    if body is not None:
        evt["body"] = json.dumps(body)
    return samples.with_sample_token(evt)


@dataclass
class Fixtures:
    """What the events of one table size act on: ideas of the sample user to read and change."""

    idea_id: str = ""
    cursors: dict[str, str] = field(default_factory=dict)
    targets: dict[str, list[str]] = field(default_factory=dict)
    tag: str = ""


def _target_ideas(owner: str, count: int, status: str = "Planning") -> list[str]:
    from skills_ideas import ideas, models
    from skills_ideas.ids import ulid

    made = []
    for _ in range(count):
        now = models.now_iso()
        item = ideas.new_item(owner, ulid(), title="t" * 100, status=status, createdAt=now, updatedAt=now, version=1)
        padded(item, TARGET_BYTES).save(add_version_condition=False)
        made.append(item.ideaId)
    return made


def prepare(runs: int, tag: str) -> Fixtures:
    """Fresh write targets for ``runs`` + 1 invocations, a cursor per listing, one idea to read."""
    from skills_ideas import ideas
    from skills_ideas.config import CursorConfig
    from skills_ideas_tools import samples

    key = CursorConfig.from_env().key
    fixtures = Fixtures(tag=tag)
    fixtures.idea_id = _target_ideas(samples.USER_ID, 1)[0]
    for name in ("patch_title", "patch_status", "replace_idea", "delete_idea"):
        fixtures.targets[name] = _target_ideas(samples.USER_ID, runs + 1)
    query, _, page = ideas.parse_list_query({})
    _, cursor = ideas.list_ideas(query, None, page, cursor_key=key)
    fixtures.cursors["feed_next"] = cursor or ""
    return fixtures


def create_body() -> dict[str, str]:
    """A create body whose stored idea is TARGET_BYTES (measured on a probe item)."""
    from skills_ideas import ideas, models
    from skills_ideas.ids import ulid
    from skills_ideas_tools import samples

    now = models.now_iso()
    probe = ideas.new_item(samples.USER_ID, ulid(), title="t" * 100, status="Planning", createdAt=now, updatedAt=now)
    probe.version = 1
    padded(probe, TARGET_BYTES)
    return {"title": "t" * 100, "description": probe.description, "status": "Planning"}


def events_for(request: Request, runs: int, fx: Fixtures) -> list[dict]:
    """``runs`` + 1 events of ``request`` (the first is the container's first invocation)."""
    from skills_ideas_tools import samples

    n = runs + 1
    feed_queries = {
        "feed": {},
        "feed_next": {"cursor": fx.cursors.get("feed_next", "")},
        "feed_status": {"status": "Completed"},
        "feed_by_status": {"sort": "status"},
        "feed_user": {"userId": BIG_USER},
        "feed_legacy_page": {"_page": "10"},
        "feed_100": {"_limit": "100"},
    }
    name = request.name
    if name in feed_queries:
        return [event("list_ideas", "/api/ideas", query=feed_queries[name])] * n
    if name in ("get_idea", "get_idea_legacy"):
        idea_id = fx.idea_id if name == "get_idea" else samples.IDEA_ID
        return [event("get_idea", f"/api/ideas/{idea_id}", path_params={"id": idea_id})] * n
    if name == "create_idea":
        return [event("create_idea", body=create_body())] * n
    if name in fx.targets:
        bodies = {
            "patch_title": {"title": "u" * 100},
            "patch_status": {"status": "Completed"},
            "replace_idea": {"title": "u" * 100, "description": "replaced", "status": "Planning"},
        }
        return [
            event(request.function, f"/api/ideas/{i}", path_params={"id": i}, body=bodies.get(name))
            for i in fx.targets[name]
        ]
    if name == "register":
        return [event("register", body={"username": f"cap{fx.tag}u{i}", "password": PASSWORD}) for i in range(n)]
    if name == "login":
        return [event("login", body={"username": samples.USERNAME, "password": samples.PASSWORD})] * n
    if name == "list_skills_filtered":
        return [event("list_skills", query={"category": "framework", "sort": "name"})] * n
    return [event(request.function)] * n


# ------------------------------------------------------------------------------ one container
class _CountingStream(io.TextIOBase):
    """Stands in for stdout in the child: counts what the handler logs (Lambda ingests it)."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)

    def writable(self) -> bool:
        return True


def child(spec_path: str) -> None:
    """Run one function like a Lambda container: import it once (timed), then serve each event
    of the spec in turn; print one ``CAPACITY {json}`` line with every figure."""
    spec = json.loads(Path(spec_path).read_text())
    real_stdout = sys.stdout
    logs = _CountingStream()
    sys.stdout = logs  # before the import: Powertools' Logger binds to the stdout it finds
    sys.path.insert(0, str(REPO / "functions" / spec["function"]))  # as Lambda: the function's own dir
    started = time.perf_counter()
    module = importlib.import_module("app")
    import_ms = (time.perf_counter() - started) * 1000

    from skills_ideas_tools.capacity_meter import CapacityMeter
    from skills_ideas_tools.lambda_runtime import LambdaContext

    context = LambdaContext(function_name=spec["function"], memory_limit_in_mb=spec["memory_mb"])
    invocations = []
    for evt in spec["events"]:
        logged = logs.bytes
        with CapacityMeter() as meter:
            cpu, wall = time.process_time(), time.perf_counter()
            result = module.lambda_handler(evt, context)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        headers = result.get("headers") or {}
        body = (result.get("body") or "").encode()
        invocations.append(
            {
                "wall_ms": wall * 1000,
                "cpu_ms": cpu * 1000,
                "status": result.get("statusCode", 200),
                "body_bytes": len(body),
                "gzip_bytes": len(gzip.compress(body)) if body else 0,
                "header_bytes": sum(len(f"{k}: {v}\r\n") for k, v in headers.items()),
                "log_bytes": logs.bytes - logged,
                "rcu": meter.read_units,
                "wcu": meter.write_units,
                "items_read": meter.items_read,
                "operations": meter.operations(),
            }
        )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"import_ms": import_ms, "peak_rss_mb": peak_kb / 1024, "invocations": invocations}
    real_stdout.write("CAPACITY " + json.dumps(out) + "\n")
    real_stdout.flush()


@dataclass
class Measurement:
    """The figures of one request at one table size (warm = every invocation but the first)."""

    request: str
    size: int
    import_ms: float
    first_ms: float
    wall_ms: float
    cpu_ms: float
    peak_rss_mb: float
    body_bytes: int
    header_bytes: int
    log_bytes: float
    rcu: float
    wcu: float
    items_read: int
    operations: list[str]
    statuses: list[int]
    gzip_bytes: int = 0

    @classmethod
    def of(cls, request: str, size: int, raw: dict) -> Measurement:
        first, *warm = raw["invocations"]
        warm = warm or [first]
        worst = max(warm, key=lambda i: (i["rcu"] + i["wcu"], i["items_read"]))
        return cls(
            request=request,
            size=size,
            import_ms=raw["import_ms"],
            first_ms=first["wall_ms"],
            wall_ms=statistics.median(i["wall_ms"] for i in warm),
            cpu_ms=statistics.median(i["cpu_ms"] for i in warm),
            peak_rss_mb=raw["peak_rss_mb"],
            body_bytes=int(statistics.median(i["body_bytes"] for i in warm)),
            header_bytes=int(statistics.median(i["header_bytes"] for i in warm)),
            gzip_bytes=int(statistics.median(i["gzip_bytes"] for i in warm)),
            log_bytes=statistics.mean(i["log_bytes"] for i in warm),
            rcu=worst["rcu"],
            wcu=worst["wcu"],
            items_read=worst["items_read"],
            operations=worst["operations"],
            statuses=sorted({i["status"] for i in raw["invocations"]}),
        )


def run_container(request: Request, events: list[dict], env: dict[str, str], memory_mb: int, size: int) -> Measurement:
    """Measure ``request`` in a fresh interpreter; fails loudly on an unexpected status."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"function": request.function, "events": events, "memory_mb": memory_mb}, handle)
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "skills_ideas_tools.capacity", "--child", handle.name],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=False,
            timeout=600,
        )
    finally:
        os.unlink(handle.name)
    lines = [line for line in done.stdout.splitlines() if line.startswith("CAPACITY ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{request.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    measured = Measurement.of(request.name, size, json.loads(lines[-1][len("CAPACITY ") :]))
    if request.function != "authorizer" and measured.statuses != [request.status]:
        raise RuntimeError(f"{request.name} answered {measured.statuses}, expected {request.status}")
    return measured


# ------------------------------------------------------------------------------ stages
@dataclass(frozen=True)
class Stage:
    """What infra/config.py sets for one stage, read without synthesizing."""

    name: str
    memory: dict[str, int]
    reserved: dict[str, int]
    provisioned: dict[str, tuple[int, int]]
    rate: float
    burst: int
    on_demand: bool
    table_rcu_max: int
    table_wcu_max: int
    index_rcu_max: int
    index_wcu_max: int
    target_utilization: int
    waf_per_ip_5min: int


def stages() -> list[Stage]:
    sys.path.insert(0, str(REPO))
    from infra.config import STAGES
    from skills_ideas.routes import functions

    found = []
    for name, config in STAGES.items():
        settings = {f: config.function(f) for f in functions()}
        found.append(
            Stage(
                name=name,
                memory={f: s.memory_mb for f, s in settings.items()},
                reserved={f: s.reserved_concurrency for f, s in settings.items() if s.reserved_concurrency},
                provisioned={f: (s.provisioned, s.provisioned) for f, s in settings.items() if s.provisioned},
                rate=config.stage_throttle.rate_limit,
                burst=config.stage_throttle.burst_limit,
                on_demand=config.table.on_demand,
                table_rcu_max=config.table.table_capacity.read_max,
                table_wcu_max=config.table.table_capacity.write_max,
                index_rcu_max=config.table.index_capacity.read_max,
                index_wcu_max=config.table.index_capacity.write_max,
                target_utilization=config.table.target_utilization_percent,
                waf_per_ip_5min=config.client_limits.requests,
            )
        )
    return found


# ------------------------------------------------------------------------------ measuring
def measure(sizes: tuple[int, ...], runs: int, say: Callable[[str], None] = print) -> list[Measurement]:
    """Every request at every table size, on a fresh local stack in a temporary directory."""
    import tempfile

    from skills_ideas_tools.local_env import local_stack

    memory = {s.name: s for s in stages()}["prod"].memory
    results: list[Measurement] = []
    # DynamoDB Local's SQLite in memory (a private mkdtemp directory, so no S108 risk): seeds faster.
    memory_fs = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
    with (
        tempfile.TemporaryDirectory(dir=memory_fs) as state,
        local_stack(state, engine="java", reuse=False) as services,
    ):
        env = {
            **os.environ,
            **services.env(),
            # What the stack sets: application logs at INFO (the platform's at WARN, so none).
            "LOG_LEVEL": "INFO",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
        seed_sample_data()
        client = services.client("dynamodb")
        seeded = 0
        for size in sizes:
            started = time.perf_counter()
            seed_ideas(client, services.table_name, seeded, size)
            seeded = size
            say(f"{size:>7} ideas seeded in {time.perf_counter() - started:.0f} s")
            fixtures = prepare(runs, tag=str(size))
            for request in REQUESTS:
                measured = run_container(
                    request, events_for(request, runs, fixtures), env, memory[request.function], size
                )
                results.append(measured)
                say(
                    f"{size:>7} {request.label:40} RCU {measured.rcu:5.1f} WCU {measured.wcu:3.0f} "
                    f"{measured.wall_ms:7.1f} ms {measured.body_bytes:6} B"
                )
    return results


def seed_sample_data() -> None:
    """The sample user (every protected event acts as it) and a 1 KB legacy idea, id 12."""
    from skills_ideas import ideas, models, passwords, users
    from skills_ideas.config import TableConfig
    from skills_ideas_tools import samples

    models.bind(TableConfig.from_env())
    user = users.User(samples.USER_ID, samples.USERNAME, "user", samples.CREATED_AT)
    users.put_user(user, passwords.hash_password(samples.PASSWORD))
    item, alias = ideas.aliased_item(
        samples.USER_ID,
        samples.IDEA_ID,
        samples.CREATED_AT,
        int(samples.IDEA_ID),
        title="Skill-swap evenings",
        status="Planning",
        updatedAt=samples.CREATED_AT,
        version=1,
    )
    padded(item, IDEA_BYTES).save(add_version_condition=False)
    alias.save()


# ------------------------------------------------------------------------------ the cost model
@dataclass(frozen=True)
class Design:
    """One way to put the API on the internet, as priced here."""

    name: str
    cloudfront: bool
    api: str  # "rest" or "http"
    regional_waf: bool
    edge_waf: bool
    cached: tuple[str, ...]  # edge classes CloudFront answers from its cache
    xray_rate: float
    #: DynamoDB on provisioned capacity kept at this utilization (%), or on demand (None).
    utilization: int | None
    built: bool = False


def designs(utilization: int) -> tuple[Design, ...]:
    """As built (prod's settings), then one change at a time; ``utilization`` is prod's target."""
    public = ("skills", "ideas")
    return (
        Design(
            "As built (prod): CloudFront + WAF → REST API + WAF; public skill and idea reads cached",
            True,
            "rest",
            True,
            True,
            public,
            0.05,
            utilization,
            True,
        ),
        Design(
            "CloudFront + WAF → HTTP API; public reads cached", True, "http", False, True, public, 0.05, utilization
        ),
        Design(
            "CloudFront without WAF → HTTP API; public reads cached; X-Ray 1%",
            True,
            "http",
            False,
            False,
            public,
            0.01,
            utilization,
        ),
        Design(
            "HTTP API alone (no CloudFront, no WAF, no cache); X-Ray 1%",
            False,
            "http",
            False,
            False,
            (),
            0.01,
            utilization,
        ),
    )


SERVICES = ("CloudFront", "WAF", "API Gateway", "Lambda", "DynamoDB", "CloudWatch Logs", "X-Ray")


def lambda_cost(prices: dict, memory_mb: int, ms: float) -> float:
    """One invocation: billed per started millisecond at its memory size, plus the request."""
    gb_seconds = memory_mb / 1024 * math.ceil(ms) / 1000
    return gb_seconds * prices["lambda"]["armPerGbSecond"] + prices["lambda"]["perMillionRequests"] / 1e6


def origin_costs(
    m: Measurement, request: Request, design: Design, prices: dict, memory: dict[str, int], auth: Measurement
) -> dict[str, float]:
    """USD of one request that reaches the API (an edge miss), by service."""
    api = prices["apigateway"]["restPerMillionRequests" if design.api == "rest" else "httpPerMillionRequests"] / 1e6
    costs = dict.fromkeys(SERVICES, 0.0)
    costs["API Gateway"] = api
    costs["WAF"] = prices["waf"]["perMillionRequests"] / 1e6 if design.regional_waf else 0.0
    costs["Lambda"] = lambda_cost(prices, memory[request.function], m.wall_ms)
    log_bytes = m.log_bytes + len(ACCESS_LOG_LINE)
    if request.protected:  # the authorizer, counted on every protected request (its cache ignored)
        costs["Lambda"] += lambda_cost(prices, memory["authorizer"], auth.wall_ms)
        log_bytes += auth.log_bytes
    ddb = prices["dynamodb"]
    if design.utilization is None:
        per_rcu, per_wcu = ddb["onDemandPerMillionReadRequestUnits"], ddb["onDemandPerMillionWriteRequestUnits"]
    else:
        per_rcu, per_wcu = provisioned_per_million(prices, design.utilization)
    costs["DynamoDB"] = (m.rcu * per_rcu + m.wcu * per_wcu) / 1e6
    costs["CloudWatch Logs"] = log_bytes / 1e9 * prices["cloudwatchLogs"]["ingestionPerGb"]
    costs["X-Ray"] = design.xray_rate * prices["xray"]["perMillionTracesRecorded"] / 1e6
    return costs


def edge_costs(m: Measurement, design: Design, prices: dict) -> dict[str, float]:
    """USD CloudFront (and its WAF) charge for one request, hit or miss. CloudFront compresses
    (gzip, brotli) only behind a caching policy, so only the cached reads leave compressed."""
    costs = dict.fromkeys(SERVICES, 0.0)
    if design.cloudfront:
        body = m.gzip_bytes if BY_NAME[m.request].edge in design.cached else m.body_bytes
        out_bytes = body + m.header_bytes + EDGE_HEADER_BYTES
        costs["CloudFront"] = (
            prices["cloudfront"]["httpsPer10kRequests"] / 1e4 + out_bytes / 1e9 * prices["cloudfront"]["perGbDataOut"]
        )
        costs["WAF"] = prices["waf"]["perMillionRequests"] / 1e6 if design.edge_waf else 0.0
    return costs


def request_costs(
    m: Measurement, design: Design, hit: float, prices: dict, memory: dict[str, int], auth: Measurement
) -> dict[str, float]:
    """Expected USD of one request under ``design`` with edge hit ratio ``hit``, by service."""
    request = BY_NAME[m.request]
    miss = 1.0 - (hit if design.cloudfront and request.edge in design.cached else 0.0)
    origin = origin_costs(m, request, design, prices, memory, auth)
    edge = edge_costs(m, design, prices)
    return {s: edge[s] + miss * origin[s] for s in SERVICES}


def mix_costs(
    by_request: dict[str, Measurement], design: Design, hit: float, prices: dict, memory: dict[str, int]
) -> dict[str, float]:
    """USD per million requests of the traffic mix, by service."""
    total = dict.fromkeys(SERVICES, 0.0)
    for name, share in mix().items():
        for service, usd in request_costs(
            by_request[name], design, hit, prices, memory, by_request["authorizer"]
        ).items():
            total[service] += share * usd * 1e6
    return total


def provisioned_per_million(prices: dict, utilization: int) -> tuple[float, float]:
    """USD per million RCU and WCU consumed on provisioned capacity kept at ``utilization`` %."""
    seconds = 3600 * utilization / 100
    ddb = prices["dynamodb"]
    return ddb["provisionedPerRcuHour"] / seconds * 1e6, ddb["provisionedPerWcuHour"] / seconds * 1e6


# ------------------------------------------------------------------------------ throughput
@dataclass(frozen=True)
class Limit:
    what: str
    rps: float
    note: str


def demand(by_request: dict[str, Measurement], hit_skills: float = 0.0, hit_ideas: float = 0.0) -> dict[str, float]:
    """Per request of the mix reaching the stage: DynamoDB units on the table, on each feed GSI and
    on the feed partition FEED#0, logins, and Lambda seconds (a request's share times its figure)."""
    hits = {"skills": hit_skills, "ideas": hit_ideas, "": 0.0}
    d = dict.fromkeys(
        ("origin", "login", "table_rcu", "table_wcu", "gsi_rcu", "feed_gsi_wcu", "status_gsi_wcu", "lambda_s"), 0.0
    )
    for name, share in mix().items():
        request, m = BY_NAME[name], by_request[name]
        reach = share * (1.0 - hits[request.edge])
        d["origin"] += reach
        d["lambda_s"] += reach * (m.wall_ms + (by_request["authorizer"].wall_ms if request.protected else 0)) / 1000
        if name == "login":
            d["login"] += reach
        if name.startswith("feed") and name != "feed_user":
            d["gsi_rcu"] += reach * m.rcu
        else:
            d["table_rcu"] += reach * m.rcu
        if m.wcu:
            # A write puts 1 WCU per KB in the table and in each feed index (a status change 2 in
            # FeedByStatus); what is left of the measured total is the table's share.
            status_units = 2 if name == "patch_status" else 1
            d["feed_gsi_wcu"] += reach * 1
            d["status_gsi_wcu"] += reach * status_units
            d["table_wcu"] += reach * (m.wcu - 1 - status_units)
    return d


def limits(stage: Stage, by_request: dict[str, Measurement], new_account: bool = False) -> list[Limit]:
    """The highest sustained rps of the mix each limit of ``stage`` allows (no edge cache hits:
    the worst case; skill reads cached by CloudFront only lower the origin's share)."""
    d = demand(by_request)
    found = [
        Limit("API Gateway stage throttle", stage.rate / d["origin"], f"{stage.rate:.0f} rps (burst {stage.burst})"),
        Limit("API Gateway account throttle", ACCOUNT_API_RPS / d["origin"], f"{ACCOUNT_API_RPS:,} rps per region"),
    ]
    pool = (NEW_ACCOUNT_CONCURRENCY if new_account else ACCOUNT_CONCURRENCY) - (
        0 if new_account else sum(stage.reserved.values())
    )
    found.append(
        Limit(
            "Lambda concurrency" + (" (new account)" if new_account else ""),
            pool / d["lambda_s"],
            f"{pool} concurrent executions for the unreserved functions, "
            f"{d['lambda_s'] * 1000:.1f} ms of Lambda per request",
        )
    )
    for function, reserved in stage.reserved.items():
        name = next(r.name for r in REQUESTS if r.function == function)
        share = mix().get(name, 0.0)
        if share:
            found.append(
                Limit(
                    f"reserved concurrency of {function}",
                    reserved / (share * by_request[name].wall_ms / 1000),
                    f"{reserved} executions at {by_request[name].wall_ms:.0f} ms",
                )
            )
    if not stage.on_demand:
        found += [
            Limit(
                "table read capacity (autoscaling max)",
                stage.table_rcu_max / d["table_rcu"],
                f"{stage.table_rcu_max} RCU",
            ),
            Limit(
                "table write capacity (autoscaling max)",
                stage.table_wcu_max / d["table_wcu"],
                f"{stage.table_wcu_max} WCU",
            ),
            Limit(
                "feed index read capacity (autoscaling max)",
                stage.index_rcu_max / d["gsi_rcu"],
                f"{stage.index_rcu_max} RCU per GSI",
            ),
            Limit(
                "FeedByStatus write capacity (autoscaling max)",
                stage.index_wcu_max / d["status_gsi_wcu"],
                f"{stage.index_wcu_max} WCU per GSI",
            ),
        ]
    else:
        found.append(
            Limit(
                "on-demand table quota",
                ON_DEMAND_TABLE_UNITS / max(d["table_rcu"], d["table_wcu"]),
                f"{ON_DEMAND_TABLE_UNITS:,} units/s",
            )
        )
    found += [
        Limit("feed partition FEED#0 reads", PARTITION_RCU / d["gsi_rcu"], f"{PARTITION_RCU:,} RCU/s per partition"),
        Limit(
            "feed partition FEED#0 writes (FeedByStatus)",
            PARTITION_WCU / d["status_gsi_wcu"],
            f"{PARTITION_WCU:,} WCU/s per partition",
        ),
    ]
    return sorted(found, key=lambda limit: limit.rps)


# ------------------------------------------------------------------------------ the report
def _usd(value: float) -> str:
    return f"${value:.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def _units(value: float) -> str:
    return f"{value:g}"


def report(results: list[Measurement], prices: dict, runs: int, seconds: float) -> str:
    sizes = sorted({m.size for m in results})
    largest = max(sizes)
    at = {(m.request, m.size): m for m in results}
    by_request = {r.name: at[(r.name, largest)] for r in REQUESTS}
    all_stages = stages()
    prod = {s.name: s for s in all_stages}["prod"]
    memory = prod.memory
    shares = mix()
    out: list[str] = []
    add = out.append
    add("# Capacity and cost")
    add("")
    add(
        "What each request consumes, measured through the real handlers, what the traffic mix costs at "
        f"list prices, and how much load each stage's configuration lets through. Generated by `make capacity` "
        f"({_machine()}, {datetime.now(UTC):%Y-%m-%d}, {runs} warm invocations per figure, {seconds / 60:.0f} min); "
        f"prices: [`bench/prices-us-east-1.json`](../bench/prices-us-east-1.json) (us-east-1, as of "
        f"{prices['pricesAsOf']}). Edit the prices file and rerun to reprice. Data model and its bounds: "
        "[data-model.md](data-model.md); measured throughput of the local stack: [load.md](load.md)."
    )
    add("")
    add("## DynamoDB capacity per request")
    add("")
    add(
        "Consumed capacity DynamoDB Local reports for each call (`ReturnConsumedCapacity=TOTAL`), worst of the warm "
        "invocations, with the table holding "
        + ", ".join(f"{s:,}" for s in sizes)
        + " ideas of 1 KB (1% of them Completed, every fifth owned by "
        f"`{BIG_USER}`). Written ideas are {TARGET_BYTES} bytes. The bound is docs/data-model.md's worst case."
    )
    add("")
    add("| request | calls | " + " | ".join(f"RCU at {s:,}" for s in sizes) + " | WCU | bound RCU / WCU | flat |")
    add("|---|---|" + "---:|" * len(sizes) + "---:|---:|---|")
    for r in REQUESTS:
        ms = [at[(r.name, s)] for s in sizes]
        flat = all(m.rcu <= r.bound_rcu and m.wcu <= r.bound_wcu for m in ms)
        calls = " + ".join(ms[-1].operations) or "none"
        add(
            f"| `{r.label}` | {calls} | "
            + " | ".join(_units(m.rcu) for m in ms)
            + f" | {_units(ms[-1].wcu)} | {_units(r.bound_rcu)} / {_units(r.bound_wcu)}"
            + f" | {'yes' if flat else '**NO**'} |"
        )
    add("")
    add(
        "No figure grows with the table: a listing reads at most one page (plus one item) whatever the table holds, "
        "and at 100 ideas a filtered listing reads fewer because fewer ideas match. Skill reads and the index touch "
        "no table (the catalogue is an S3 object cached in the function)."
    )
    add("")
    add("## Lambda: duration, memory, response size")
    add("")
    add(
        "Each handler runs warm in its own interpreter, like a Lambda container, at "
        f"{largest:,} ideas: **import** is its cold-start import, once; **first** its first invocation (connections "
        "made); **warm** the median wall time of the others. The wall time on this machine is the *local proxy* of "
        "Lambda's billed duration (billed per started ms, ARM, at the prod memory size from `infra/config.py`). It "
        "is not Lambda's figure: DynamoDB Local shares the machine (a real DynamoDB call takes a few ms), and Lambda "
        f"gives a function one vCPU only at {FULL_VCPU_MB:,} MB, so CPU-bound work (the **CPU** column) runs up to "
        f"{FULL_VCPU_MB / 512:.1f}× slower at 512 MB: the **CPU-scaled** column is wall − CPU + CPU × "
        f"{FULL_VCPU_MB}/memory. **peak RSS** is the container's resident maximum (`ru_maxrss`), **logs** what it "
        "writes to CloudWatch per invocation (Powertools JSON at INFO and metrics)."
    )
    add("")
    add(
        "| request | function | memory MB (prod / dev) | import ms | first ms | warm ms | CPU ms | CPU-scaled ms "
        "| peak RSS MB | body bytes | gzip bytes | logs bytes |"
    )
    add("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    dev = {s.name: s for s in all_stages}["dev"]
    for r in REQUESTS:
        m = by_request[r.name]
        mem = memory[r.function]
        add(
            f"| `{r.label}` | {r.function} | {mem} / {dev.memory[r.function]} | {m.import_ms:.0f} | "
            f"{m.first_ms:.0f} | {m.wall_ms:.1f} | {m.cpu_ms:.1f} | {scaled_ms(m, mem):.0f} | {m.peak_rss_mb:.0f} | "
            f"{m.body_bytes:,} | {m.gzip_bytes:,} | {m.log_bytes:.0f} |"
        )
    add("")
    peak = max(m.peak_rss_mb for m in by_request.values())
    add(
        f"Every container peaks at or below {peak:.0f} MB of the 512 MB (1,024 MB for login and register) it is "
        "given: the memory sizes buy CPU (password hashing, JSON), not room."
    )
    add("")
    add("## The traffic mix")
    add("")
    add(
        "The task weights of [`bench/locustfile.py`](../bench/locustfile.py) (`make load`), one request per task "
        "(a feed task's follow-on pages cost what its first page costs): 60% skill and idea lists, 15% one idea, "
        "10% logins, 15% writes."
    )
    add("")
    add("| request | share |")
    add("|---|---:|")
    for name, share in shares.items():
        add(f"| `{BY_NAME[name].label}` | {share:.0%} |")
    add("")
    add("## Cost per million requests")
    add("")
    rcu_m, wcu_m = provisioned_per_million(prices, prod.target_utilization)
    add(
        "List prices, first volume tier, no free tier. Every request through CloudFront pays its HTTPS request, "
        "its bytes out (body, headers and about 250 bytes CloudFront adds; the body gzip-compressed only where "
        "CloudFront caches, since it compresses only behind a caching policy) and the CloudFront WAF; a request that "
        "misses the edge cache also pays API Gateway (and the stage's regional WAF), the handler's Lambda time at "
        "its prod memory (plus the request authorizer's on protected routes, counted on every one, its 300 s result "
        f"cache ignored), DynamoDB on prod's provisioned capacity at its {prod.target_utilization}% target "
        f"utilization ({_usd(rcu_m)} per million RCU and {_usd(wcu_m)} per million WCU consumed, against "
        f"{_usd(prices['dynamodb']['onDemandPerMillionReadRequestUnits'])} and "
        f"{_usd(prices['dynamodb']['onDemandPerMillionWriteRequestUnits'])} on demand as in dev), the CloudWatch "
        "Logs it writes (handler logs and one access-log line) and X-Ray traces (the default sampling rule records "
        f"about {prices['xray']['defaultSamplingRate']:.0%} of requests). Fixed monthly charges (web ACLs and rules, "
        "alarms, dashboard, the secret, provisioned concurrency, storage) are not per request and are left out: "
        "docs/operations.md lists the cost at rest."
    )
    add("")
    add("### Per endpoint, as built, nothing served from the edge cache")
    add("")
    all_designs = designs(prod.target_utilization)
    built = all_designs[0]
    add("| request | " + " | ".join(SERVICES) + " | total |")
    add("|---|" + "---:|" * (len(SERVICES) + 1))
    for r in REQUESTS:
        if r.name == "authorizer":
            continue
        c = request_costs(by_request[r.name], built, 0.0, prices, memory, by_request["authorizer"])
        add(
            f"| `{r.label}` | "
            + " | ".join(_usd(c[s] * 1e6) for s in SERVICES)
            + f" | **{_usd(sum(c.values()) * 1e6)}** |"
        )
    add("")
    add("### The mix, by design and edge cache hit ratio")
    add("")
    add(
        "The hit ratio applies to the requests each design lets CloudFront cache: skill reads as built; skill "
        "reads and the public idea reads (feed pages, one idea) where those are cached too. Each design changes one "
        f"thing from the one above it. Target: at most **{_usd(TARGET_PER_MILLION)}** per million requests (in bold "
        "where met)."
    )
    add("")
    add("| design | " + " | ".join(f"hit {h:.0%}" for h in HIT_RATIOS) + " |")
    add("|---|" + "---:|" * len(HIT_RATIOS))
    totals: dict[tuple[str, float], float] = {}
    for design in all_designs:
        cells = []
        for hit in HIT_RATIOS:
            total = sum(mix_costs(by_request, design, hit, prices, memory).values())
            totals[(design.name, hit)] = total
            cells.append(f"**{_usd(total)}**" if total <= TARGET_PER_MILLION else _usd(total))
        add(f"| {design.name} | " + " | ".join(cells) + " |")
    add("")
    add("Split by service at a 90% hit ratio:")
    add("")
    add("| design | " + " | ".join(SERVICES) + " | total |")
    add("|---|" + "---:|" * (len(SERVICES) + 1))
    for design in all_designs:
        c = mix_costs(by_request, design, 0.9, prices, memory)
        add(f"| {design.name} | " + " | ".join(_usd(c[s]) for s in SERVICES) + f" | {_usd(sum(c.values()))} |")
    add("")
    c0 = mix_costs(by_request, built, 0.0, prices, memory)
    on_demand = mix_costs(by_request, replace(built, utilization=None), 0.0, prices, memory)
    add(
        f"On demand (dev) the DynamoDB share of the mix as built is {_usd(on_demand['DynamoDB'])} instead of "
        f"{_usd(c0['DynamoDB'])}. With the CPU-scaled durations instead of the local wall times the Lambda share "
        f"moves from {_usd(c0['Lambda'])} to {_usd(scaled_lambda_share(by_request, prices, memory))} per million."
    )
    add("")
    add(verdict(all_designs, totals, by_request, prices, memory))
    add("")
    add("## How much load each stage lets through")
    add("")
    add(
        "The highest sustained rate of the mix (requests per second at the front door, none answered from the edge "
        "cache: the worst case) that each limit allows, lowest first. Stage throttles, reserved and provisioned "
        "concurrency, table capacity come from `infra/config.py`; the account's defaults (1,000 concurrent Lambda "
        f"executions, as few as {NEW_ACCOUNT_CONCURRENCY} on a new account until AWS raises it, API Gateway's "
        f"{ACCOUNT_API_RPS:,} rps per region) and DynamoDB's per-partition limits ({PARTITION_RCU:,} RCU and "
        f"{PARTITION_WCU:,} WCU per second, which every feed index's single partition `FEED#0` is held to) are "
        "AWS's. Lambda time per request is the measured warm wall time."
    )
    for stage in all_stages:
        add("")
        add(f"### {stage.name}")
        add("")
        found = limits(stage, by_request)
        add("| limit | setting | max rps of the mix |")
        add("|---|---|---:|")
        for limit in found:
            add(f"| {limit.what} | {limit.note} | {limit.rps:,.0f} |")
        new = limits(stage, by_request, new_account=True)
        lambda_new = next(limit for limit in new if limit.what.startswith("Lambda concurrency"))
        add("")
        add(
            f"Binds first: **{found[0].what}**, at about **{found[0].rps:,.0f} rps**"
            + (f", then {found[1].what} ({found[1].rps:,.0f})." if len(found) > 1 else ".")
            + f" On a new account whose concurrency quota is still {NEW_ACCOUNT_CONCURRENCY}, Lambda binds at about "
            f"{lambda_new.rps:,.0f} rps (and reserved concurrency cannot be set at all)."
        )
        if stage.provisioned:
            warm = ", ".join(f"{f} {lo}–{hi}" for f, (lo, hi) in stage.provisioned.items())
            add("")
            add(
                f"Provisioned concurrency ({warm}, scaled on utilization) is not a cap: it keeps that many "
                "containers warm so the first requests of a burst skip the cold start; beyond it the functions "
                "scale on demand from the account pool."
            )
    add("")
    add(scaling(by_request, prod))
    add("")
    add(regions_section(by_request, prices))
    add("")
    add("## Repeat")
    add("")
    add("```bash")
    add("make capacity          # seeds 100, 10,000 and 100,000 ideas, measures, rewrites this page")
    add(".venv/bin/python -m skills_ideas_tools.capacity --sizes 100 1000 --runs 5 --write /tmp/capacity.md  # quick")
    add("```")
    add("")
    add(
        "Needs Java (DynamoDB Local) like `make test`; nothing reaches AWS. Figures of time move by ±20–30% between "
        "runs on a shared 2-core machine; the capacity units do not move. "
        "`tests/dynamodb_local/test_capacity_model.py` runs the same measurement on 200 ideas and checks it "
        "against docs/data-model.md's bounds, and the mix against bench/locustfile.py."
    )
    return "\n".join(out) + "\n"


def scaled_ms(m: Measurement, memory_mb: int) -> float:
    """Wall time with its CPU part stretched to the vCPU share Lambda gives ``memory_mb``."""
    return m.wall_ms - m.cpu_ms + m.cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb)


def scaled_lambda_share(by_request: dict[str, Measurement], prices: dict, memory: dict[str, int]) -> float:
    total = 0.0
    auth = by_request["authorizer"]
    for name, share in mix().items():
        request, m = BY_NAME[name], by_request[name]
        usd = lambda_cost(prices, memory[request.function], scaled_ms(m, memory[request.function]))
        if request.protected:
            usd += lambda_cost(prices, memory["authorizer"], scaled_ms(auth, memory["authorizer"]))
        total += share * usd * 1e6
    return total


def verdict(
    all_designs: tuple[Design, ...],
    totals: dict[tuple[str, float], float],
    by_request: dict[str, Measurement],
    prices: dict,
    memory: dict[str, int],
) -> str:
    """Which design meets the target, from the computed totals, and what building it takes."""
    built = all_designs[0]
    edge = prices["cloudfront"]["httpsPer10kRequests"] * 100 + prices["waf"]["perMillionRequests"]
    rest = prices["apigateway"]["restPerMillionRequests"]
    http = prices["apigateway"]["httpPerMillionRequests"]
    best_built = min(totals[(built.name, hit)] for hit in HIT_RATIOS)
    meeting = [
        (design, min(hit for hit in HIT_RATIOS if totals[(design.name, hit)] <= TARGET_PER_MILLION))
        for design in all_designs
        if any(totals[(design.name, hit)] <= TARGET_PER_MILLION for hit in HIT_RATIOS)
    ]
    lines = ["### Which design reaches the target", ""]
    if best_built <= TARGET_PER_MILLION:
        lines.append(f"As built, the mix meets {_usd(TARGET_PER_MILLION)} per million from the hit ratios in bold.")
    else:
        lines.append(
            f"**As built the mix cannot reach {_usd(TARGET_PER_MILLION)}: at best {_usd(best_built)} per million.** "
            f"Every request pays the edge first ({_usd(edge)}: CloudFront's HTTPS request and its WAF), and every "
            f"miss pays REST API Gateway ({_usd(rest)}) and a second WAF inspection at the stage. Writes and logins "
            "(25% of the mix) always reach the origin, whatever the hit ratio."
        )
    lines.append("")
    if meeting:
        found = "; ".join(
            f"**{design.name}**, from a {hit:.0%} hit ratio ({_usd(totals[(design.name, hit)])})"
            if design.cloudfront
            else f"**{design.name}** ({_usd(totals[(design.name, hit)])}, no cache needed)"
            for design, hit in meeting
        )
        lines.append(f"Designs that meet the target: {found}.")
    else:
        lines.append("No design in the table meets the target at these hit ratios.")
    lines += [
        "",
        "**Built today**: CloudFront in front of everything with its WAF (per-client rate rules); a REST API "
        "(regional endpoint) whose own WAF only admits CloudFront, access logs and X-Ray; CloudFront caches the "
        "public skill reads (60 s, stale-while-revalidate 300) and the public idea reads for as long as the API "
        "says (`Cache-Control: public, max-age=5`: feed pages and an idea by id); prod's table is provisioned "
        "with autoscaling.",
        "",
        "**Built**: the public idea reads are cached at the edge for a few seconds (`Cache-Control: public, "
        "max-age=5` on feed pages and on an idea by id, and a CloudFront behaviour for `GET /api/ideas*` keyed on "
        "the listing's query strings that drops Authorization as the skill behaviour does). A public list a few "
        "seconds stale is acceptable; a writer's own response carries the change at once. It is also what keeps "
        "the feed's reads off the single partition `FEED#0` as traffic grows (below). Alone it does not meet the "
        "target on REST.",
        "",
        "**Recommendation** (not built: each gives something up), in the order of the table:",
        "",
        f"1. **An HTTP API ({_usd(http)}/M) instead of REST ({_usd(rest)}/M)** behind the same CloudFront. What "
        "REST gives that HTTP APIs lack: usage plans and API keys (unused today), WAF association at the stage "
        "(which today admits only requests carrying CloudFront's secret origin header; an HTTP API would have the "
        "authorizer or a catch-all check it), request "
        "validation (the handlers validate every input already), its own cache (unused: CloudFront caches), "
        "per-method throttling (HTTP APIs throttle per route), gateway responses with our envelope (401/403/404 "
        "bodies would come from the authorizer or a catch-all route), and X-Ray at the gateway.",
        f"2. **The CloudFront WAF** costs {_usd(prices['waf']['perMillionRequests'])} per million on every "
        "request, more than a third of the budget. Dropping it loses the managed rule groups and the per-IP rate "
        "rules in front of login; keeping it means either accepting about "
        f"{_usd(TARGET_PER_MILLION + prices['waf']['perMillionRequests'])} per million or a committed-use discount "
        "(CloudFront Security Savings Bundle). Tracing 1% of requests instead of 5% saves a little more.",
        "3. **No CloudFront at all** (clients call the HTTP API) needs no hit ratio, but gives up the edge cache, "
        "the WAF, the catalogue's CDN path and the single origin for clients.",
        "",
        "Whatever the front door, the writes decide the rest: DynamoDB and Lambda of the 15% writes and 10% logins "
        "are paid at the origin on every one of them.",
        "",
        "**The event backbone** (docs/events.md) adds about "
        f"{_usd(EVENTS_PER_MILLION_WRITES)} per million writes of users and ideas (stream consumer, PutEvents, "
        "SQS, the statistics consumer and its counter transactions); the mix's creates, edits, deletes and "
        f"sign-ups are {events_share():.0%} of its requests, so about "
        f"{_usd(EVENTS_PER_MILLION_WRITES * events_share())} per million requests of the mix, on top of every "
        "design above. The recommendations subscription adds about "
        f"{_usd(RECOMMENDATIONS_PER_MILLION_IDEA_WRITES)} per million writes of ideas (its queue, consumer, reads "
        f"and link transactions); those are {events_share(IDEA_WRITERS):.0%} of the mix, so about "
        f"{_usd(RECOMMENDATIONS_PER_MILLION_IDEA_WRITES * events_share(IDEA_WRITERS))} per million requests more. "
        "No request waits on either.",
    ]
    return "\n".join(lines)


#: docs/events.md, "Cost per million writes": the backbone's itemised total (us-east-1, on demand).
EVENTS_PER_MILLION_WRITES = 5.40
#: docs/events.md, "The recommendations subscription": its itemised total per idea write.
RECOMMENDATIONS_PER_MILLION_IDEA_WRITES = 5.50
#: Requests of the mix that write an idea, and so make an idea event.
IDEA_WRITERS = ("create_idea", "patch_status", "replace_idea", "delete_idea")
#: Requests of the mix that write a user or an idea, and so make a domain event.
EVENT_WRITERS = (*IDEA_WRITERS, "register")


def events_share(writers: tuple[str, ...] = EVENT_WRITERS) -> float:
    shares = mix()
    return sum(shares.get(name, 0.0) for name in writers)


#: What each region of a multi-region stage runs whatever its traffic (infra/regions.py, the
#: regional stack, and the alarm on its health check in the failover alarms' stack):
#: tests/infra/test_multi_region.py checks these counts against the synthesized example
#: (cdk.out/prod-multi-region).
REGION_ALARM_METRICS = 172
REGION_WAF_RULES = 3  # the stage's web ACL: CloudFront's token, and the health check's two rules
REGION_SECRET_REPLICAS = 3  # the JWT key, the cursor key, the origin-verify token
REGION_HEALTH_CHECK_FEATURES = 2  # HTTPS and the 10-second interval
MONTH_HOURS = 730


def region_fixed_costs(prices: dict, provisioned: tuple[int, int] | None) -> dict[str, float]:
    """Per month, what one more region costs at rest (``provisioned``: the table's minimum RCU and
    WCU with its indexes, which every replica keeps too)."""
    mr, waf = prices["multiRegion"], prices["waf"]
    costs = {
        f"web ACL ($5 + {REGION_WAF_RULES} rules)": waf["perWebAclMonth"] + REGION_WAF_RULES * waf["perRuleMonth"],
        f"{REGION_ALARM_METRICS} alarm metrics": REGION_ALARM_METRICS * mr["cloudwatchAlarmMetricMonth"],
        "dashboard": mr["cloudwatchDashboardMonth"],
        "Route 53 health check (HTTPS, 10 s)": mr["route53HealthCheckAwsEndpointMonth"]
        + REGION_HEALTH_CHECK_FEATURES * mr["route53HealthCheckOptionalFeatureMonth"],
        f"{REGION_SECRET_REPLICAS} secret replicas": REGION_SECRET_REPLICAS * mr["secretsManagerPerSecretMonth"],
        "alarm topic's KMS key": mr["kmsKeyMonth"],
    }
    if provisioned:
        rcu, wcu = provisioned
        costs[f"provisioned minimum {rcu} RCU + {wcu} replicated WCU"] = MONTH_HOURS * (
            rcu * prices["dynamodb"]["provisionedPerRcuHour"] + wcu * mr["dynamodbProvisionedPerReplicatedWcuHour"]
        )
    return costs


def replicated_write_costs(by_request: dict[str, Measurement], prices: dict) -> tuple[float, float, float]:
    """Per million requests of the mix and per extra region: (write units replicated, their cost,
    the cost of the bytes crossing regions). A replica applies every write to its table and its
    indexes: the same units as the origin region, billed as replicated write units."""
    d = demand(by_request)
    units = d["table_wcu"] + d["feed_gsi_wcu"] + d["status_gsi_wcu"]
    writes = sum(share for name, share in mix().items() if by_request[name].wcu)
    mr = prices["multiRegion"]
    unit_cost = units * mr["dynamodbOnDemandPerMillionReplicatedWriteUnits"]
    transfer = writes * 1e6 * IDEA_BYTES / 1e9 * mr["interRegionTransferPerGb"]
    return units * 1e6, unit_cost, transfer


def regions_section(by_request: dict[str, Measurement], prices: dict) -> str:
    """docs/multi-region.md's cost: what a second and a third region add."""
    sys.path.insert(0, str(REPO))
    from infra.config import STAGES

    prod_table = STAGES["prod"].table
    from skills_ideas.schema import INDEXES

    minimum = (
        prod_table.table_capacity.read_min + len(INDEXES) * prod_table.index_capacity.read_min,
        prod_table.table_capacity.write_min + len(INDEXES) * prod_table.index_capacity.write_min,
    )
    units, unit_cost, transfer = replicated_write_costs(by_request, prices)
    per_million = unit_cost + transfer
    fixed = {name: region_fixed_costs(prices, None if name == "dev" else minimum) for name in ("dev", "prod")}
    lines = ["## A second and a third region", ""]
    lines.append(
        "A stage in several regions (docs/multi-region.md) pays, **per extra region**, every write again as "
        "replicated writes (the table and its indexes, in the replica's region) and the bytes that cross "
        "regions, and a fixed cost at rest. Reads stay in their region. Prices: `multiRegion` of "
        "[`bench/prices-us-east-1.json`](../bench/prices-us-east-1.json), **from memory, not checked** (see its "
        "note); the counts are the synthesized regional stack's (checked by `tests/infra/test_multi_region.py`)."
    )
    lines.append("")
    lines.append("| per extra region | per million requests of the mix |")
    lines.append("|---|---|")
    lines.append(f"| {units:,.0f} replicated write units (on demand) | {_usd(unit_cost)} |")
    lines.append(f"| {IDEA_BYTES} bytes per write across regions at $0.02/GB | {_usd(transfer)} |")
    lines.append(f"| **total** | **{_usd(per_million)}** |")
    lines.append("")
    lines.append("| fixed, per extra region and month | dev | prod |")
    lines.append("|---|---|---|")
    for item in fixed["prod"]:
        dev = fixed["dev"].get(item)
        lines.append(f"| {item} | {'—' if dev is None else _usd(dev)} | {_usd(fixed['prod'][item])} |")
    totals = {name: sum(costs.values()) for name, costs in fixed.items()}
    lines.append(f"| **total** | **{_usd(totals['dev'])}** | **{_usd(totals['prod'])}** |")
    lines.append("")
    first = region_fixed_costs(prices, None)
    check = first["Route 53 health check (HTTPS, 10 s)"]
    mr = prices["multiRegion"]
    lines.append(
        f"So a **second region** adds about {_usd(totals['prod'])} a month to prod at rest and "
        f"{_usd(per_million)} per million requests; a **third** the same again (each replica receives every "
        f"write). Going multi-region also gives the primary its own health check ({_usd(check)} a month) with "
        f"its alarm ({_usd(mr['cloudwatchAlarmMetricMonth'])}), and the failover alarms' topic its KMS key "
        f"({_usd(mr['kmsKeyMonth'])}), and moves nothing else: the edge (CloudFront, its web ACL, the catalogue "
        "bucket) is paid once."
    )
    return "\n".join(lines)


def scaling(by_request: dict[str, Measurement], prod: Stage) -> str:
    """What 10× and 100× the prod stage's ceiling need."""
    d = demand(by_request)
    base = prod.rate
    lines = ["## 10× and 100×", ""]
    lines.append(
        f"Taking prod's front-door throttle ({base:.0f} rps of the mix) as today's ceiling, what each multiple "
        "needs (no edge hits unless said; Lambda time is the measured warm wall time, so concurrency here is a "
        "floor):"
    )
    lines.append("")
    lines.append("| need | 1× | 10× | 100× |")
    lines.append("|---|---:|---:|---:|")
    rows = []
    for factor in (1, 10, 100):
        rps = base * factor
        feed_rcu = rps * d["gsi_rcu"]
        status_wcu = rps * d["status_gsi_wcu"]
        shards = max(1, math.ceil(status_wcu / (PARTITION_WCU * 0.8)))
        feed_pages = rps * sum(
            share for name, share in mix().items() if name.startswith("feed") and name != "feed_user"
        )
        # The reader queries every shard for each page, so sharding does not spread page reads:
        # each partition serves every page. Only the edge cache lowers them.
        hit_needed = max(0.0, 1 - PARTITION_RCU * 0.8 / (feed_pages * 3)) if feed_pages else 0.0
        rows.append(
            (
                rps,
                rps * d["lambda_s"],
                rps * d["table_rcu"],
                rps * d["table_wcu"],
                feed_rcu,
                status_wcu,
                shards,
                hit_needed,
            )
        )
    labels = [
        ("requests per second", lambda r: f"{r[0]:,.0f}"),
        ("Lambda concurrency (rps × time)", lambda r: f"{r[1]:,.0f}"),
        ("table RCU/s · WCU/s", lambda r: f"{r[2]:,.0f} · {r[3]:,.0f}"),
        ("feed index RCU/s (all on FEED#…)", lambda r: f"{r[4]:,.0f}"),
        ("FeedByStatus WCU/s", lambda r: f"{r[5]:,.0f}"),
        ("FEED_SHARDS for writes (≤ 80% of 1,000 WCU each)", lambda r: f"{r[6]}"),
        ("edge hit ratio the feed pages need (≤ 80% of 3,000 RCU)", lambda r: f"{r[7]:.0%}"),
    ]
    for label, cell in labels:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in rows) + " |")
    lines += [
        "",
        "What to change, from the rows above:",
        "",
    ]
    for factor, row in zip((10, 100), rows[1:], strict=True):
        rps, concurrency, table_rcu, table_wcu, feed_rcu, status_wcu, shards, hit_needed = row
        steps = [f"raise the stage throttle to {rps:,.0f} rps"]
        if rps > ACCOUNT_API_RPS:
            steps.append(
                f"ask for API Gateway's {ACCOUNT_API_RPS:,} rps regional quota to be raised, or answer enough reads "
                "at the edge to stay under it"
            )
        if not prod.on_demand:
            steps.append(
                f"raise prod's autoscaling maxima (table {table_rcu:,.0f} RCU and {table_wcu:,.0f} WCU, "
                f"feed indexes {feed_rcu:,.0f} RCU and "
                f"{status_wcu:,.0f} WCU) or switch the table to on demand"
            )
        if shards > 1:
            steps.append(
                f"raise `FEED_SHARDS` to {shards} (FeedByStatus takes {status_wcu:,.0f} WCU/s; an `upgrade-data` run "
                f"rewrites `feedShard`, and a page then reads {shards} × (L + 1) items in {shards} parallel Queries)"
            )
        else:
            steps.append("keep `FEED_SHARDS` at 1 (the feed indexes' writes fit one partition)")
        if hit_needed > 0:
            steps.append(
                f"answer at least {hit_needed:.0%} of feed pages from the edge cache: every page reads every shard, "
                "so sharding does not spread the reads, and one partition gives 3,000 RCU/s (or put DAX in front)"
            )
        if concurrency > ACCOUNT_CONCURRENCY * 0.5:
            steps.append(f"ask for more Lambda concurrency than the default {ACCOUNT_CONCURRENCY:,}")
        steps.append(
            f"raise the login throttle and login's reserved concurrency to the expected logins "
            f"({rps * mix()['login']:,.0f}/s at this mix), and provisioned concurrency's maximum for the hot readers"
        )
        lines.append(f"- **{factor}× ({rps:,.0f} rps)**: " + "; ".join(steps) + ".")
    return "\n".join(lines)


def _machine() -> str:
    cpus = os.cpu_count() or 0
    model = ""
    with_cpuinfo = Path("/proc/cpuinfo")
    if with_cpuinfo.exists():
        for line in with_cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    named = f" ({model})" if model else ""
    return f"{platform.system()} {platform.machine()}, {cpus} CPUs{named}, Python {platform.python_version()}"


# ------------------------------------------------------------------------------ command line
def load_prices(path: Path = PRICES) -> dict:
    return json.loads(path.read_text())


def locust_weights(path: Path = REPO / "bench" / "locustfile.py") -> dict[str, int]:
    """The ``@task(weight)`` of every task method of the locustfile, read without importing it."""
    import ast

    weights = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "task" and decorator.args:
                    weights[node.name] = int(ast.literal_eval(decorator.args[0]))
    return weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="table sizes, in ideas")
    parser.add_argument("--runs", type=int, default=RUNS, help="warm invocations per request (median)")
    parser.add_argument("--write", type=Path, default=DOC, help="where to write the report")
    parser.add_argument("--raw", type=Path, help="also keep every measurement in this JSON file")
    parser.add_argument("--from-raw", type=Path, help="write the report from a --raw file, measuring nothing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if args.from_raw:
        raw = json.loads(args.from_raw.read_text())
        results = [Measurement(**m) for m in raw["measurements"]]
        runs, seconds = raw["runs"], raw["seconds"]
    else:
        from skills_ideas_tools.local_env import use_fake_aws_credentials

        use_fake_aws_credentials()
        started = time.perf_counter()
        results = measure(tuple(sorted(args.sizes)), args.runs)
        runs, seconds = args.runs, time.perf_counter() - started
        if args.raw:
            measurements = [m.__dict__ for m in results]
            args.raw.write_text(json.dumps({"runs": runs, "seconds": seconds, "measurements": measurements}))
    text = report(results, load_prices(), runs, seconds)
    args.write.write_text(text)
    print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
