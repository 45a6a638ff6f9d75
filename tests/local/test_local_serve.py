"""``skills-ideas serve`` (make dev) as a developer meets it: a calm console, handler output in
handlers.log, a DynamoDB Local that is restarted when it dies, and a jar that is checked
before it is run."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from skills_ideas_tools.dynamodb_local import (
    JAR_SHA256,
    NPM_VERSION,
    DynamoDBLocal,
    EmulatorChecksumMismatch,
    ensure_emulator,
    wait_until,
)
from skills_ideas_tools.local_env import LocalEnvError, local_stack
from skills_ideas_tools.serve import HandlerLog

REPO = Path(__file__).resolve().parents[2]


class Serve:
    """``skills-ideas serve`` in a child process on a free port, its console in a file."""

    def __init__(self, state: Path, *args: str) -> None:
        self.state = state
        self.console_file = state.parent / f"{state.name}-console.txt"
        self.stdout_file = state.parent / f"{state.name}-stdout.txt"
        with open(self.console_file, "w") as console, open(self.stdout_file, "w") as stdout:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "skills_ideas_tools.cli", "serve", "--port", "0", "--state-dir", str(state)]
                + list(args),
                cwd=REPO,
                stdout=stdout,
                stderr=console,
                env={**os.environ, "LOG_LEVEL": "INFO"},
            )
        self.url = ""

    def services(self) -> dict:
        try:
            return json.loads((self.state / "services.json").read_text())
        except (OSError, ValueError):
            return {}

    def wait_until_serving(self) -> Serve:
        started = wait_until(lambda: "gateway_url" in self.services() or self.process.poll() is not None, 120)
        assert started and self.process.poll() is None, self.console()
        self.url = self.services()["gateway_url"]
        return self

    def console(self) -> str:
        return self.console_file.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def status_of(http, url: str) -> int:
    try:
        return http(url).status
    except OSError:
        return 0


# -------------------------------------------------------------------------------- the console


def test_console_shows_one_line_per_request_and_handler_output_goes_to_a_file(tmp_path, http):
    serve = Serve(tmp_path / "state", "--engine", "moto").wait_until_serving()
    try:
        # When a developer registers, asks for a missing idea and a missing route
        body = json.dumps({"username": "ada_console", "password": "correct-horse-1"}).encode()
        headers = {"Content-Type": "application/json"}
        assert http(serve.url + "/api/register", "POST", body, headers).status == 201
        assert http(serve.url + "/api/ideas/nope").status == 404
        assert http(serve.url + "/api/nowhere").status == 404
        assert http(serve.url + "/api/ideas", "POST", b"{", {"Authorization": "Bearer x"}).status == 401
    finally:
        serve.stop()
    console = serve.console()
    # Then the console has one readable line per request: method, path, status, duration, function
    request_lines = [line for line in console.splitlines() if " ms " in line]
    assert [line.split()[1:4] + line.split()[6:] for line in request_lines] == [
        ["POST", "/api/register", "201", "register"],
        ["GET", "/api/ideas/nope", "404", "get_idea"],
        ["GET", "/api/nowhere", "404", "-"],
        ["POST", "/api/ideas", "401", "create_idea"],
    ]
    # and none of the handlers' JSON logs or metric blobs, nor a traceback
    assert '"level"' not in console and "CloudWatchMetrics" not in console and "Traceback" not in console
    assert serve.stdout_file.read_text() == ""
    # which are all in handlers.log in the state dir, one JSON document per line
    records = [json.loads(line) for line in (tmp_path / "state" / "handlers.log").read_text().splitlines()]
    assert any(r.get("message") == "request rejected" and r.get("function_name") == "get_idea" for r in records)
    assert any("UserRegistered" in r for r in records)  # the EMF blob of the registration
    assert serve.process.returncode == 0


def test_handler_log_keeps_lines_whole_across_threads_and_summarises_warnings(tmp_path, caplog):
    # Given the handlers' stdout replaced by a HandlerLog
    console = logging.getLogger("skills_ideas_tools.handlers")
    caplog.set_level(logging.INFO, logger=console.name)
    sink = HandlerLog(tmp_path / "handlers.log", console)
    start = threading.Barrier(8, timeout=30)

    def handler_thread(n: int) -> None:
        start.wait()
        for i in range(200):
            # print() writes the text and the newline separately: other threads come in between
            print(json.dumps({"level": "INFO", "message": "m", "thread": n, "i": i}), file=sink)

    threads = [threading.Thread(target=handler_thread, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    error = {"level": "ERROR", "message": "unhandled error", "function_name": "get_idea", "exception_name": "KeyError"}
    error["exception"] = "Traceback (most recent call last):\n  ...\nKeyError: 'title'"
    print(json.dumps(error), file=sink)
    print("not json at all", file=sink)
    sink.close()
    # Then every line in the file is whole, and only the error reached the console, with its cause
    lines = (tmp_path / "handlers.log").read_text().splitlines()
    assert len(lines) == 8 * 200 + 2
    assert len({(d["thread"], d["i"]) for d in map(json.loads, lines[:-2])}) == 1600
    assert lines[-1] == "not json at all"
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "get_idea: unhandled error (KeyError: 'title')")
    ]


# ------------------------------------------------------------------ DynamoDB Local is watched


@pytest.mark.dynamodb_local
def test_serve_restarts_a_dead_dynamodb_local_and_gives_up_after_its_budget(tmp_path, http):
    # Given make dev on DynamoDB Local, allowed one restart
    serve = Serve(tmp_path / "state", "--engine", "java", "--dynamodb-restarts", "1").wait_until_serving()
    health = serve.url + "/api/health"
    try:
        assert http(health).status == 200
        first = serve.services()["dynamodb_pid"]
        # When the DynamoDB Local this test started (through serve) is killed
        os.kill(first, signal.SIGKILL)
        # Then it is restarted on the same port and state, and the API answers again
        assert wait_until(lambda: serve.services().get("dynamodb_pid") not in (None, first), 90), serve.console()
        assert wait_until(lambda: status_of(http, health) == 200, 60), serve.console()
        second = serve.services()["dynamodb_pid"]
        # When it dies a second time, past its restart budget
        os.kill(second, signal.SIGKILL)
        # Then serve stops on its own, non-zero, and says why
        serve.process.wait(60)
    finally:
        serve.stop()
    console = serve.console()
    assert serve.process.returncode == 1, console
    assert "DynamoDB Local exited (code -9, SIGKILL); restarting (1 of at most 1)" in console
    assert "DynamoDB Local exited (code -9, SIGKILL) again after 1 restart(s)" in console and "giving up" in console
    assert "Traceback" not in console


# ---------------------------------------------------------------------- the jar is checked


@pytest.fixture
def tampered_cache(tmp_path, monkeypatch):
    """A jar cache whose DynamoDBLocal.jar is not the pinned one."""
    emulator = tmp_path / "cache" / "dynamodb-local" / NPM_VERSION / "emulator"
    emulator.mkdir(parents=True)
    (emulator / "DynamoDBLocal.jar").write_bytes(b"PK\x03\x04 not the DynamoDB Local jar")
    monkeypatch.setenv("SKILLS_IDEAS_CACHE_DIR", str(tmp_path / "cache"))
    return emulator


def test_a_jar_that_is_not_the_pinned_one_is_never_run(tampered_cache, tmp_path):
    with pytest.raises(EmulatorChecksumMismatch) as refused:
        ensure_emulator()
    message = str(refused.value)
    assert str(tampered_cache / "DynamoDBLocal.jar") in message and JAR_SHA256 in message
    assert f"Delete {tampered_cache}" in message
    dynamodb = DynamoDBLocal(tmp_path / "db")
    with pytest.raises(EmulatorChecksumMismatch):
        dynamodb.start()
    assert dynamodb.process is None  # java was never started


def test_make_dev_on_java_fails_clearly_with_a_tampered_jar(tampered_cache, tmp_path):
    with pytest.raises(LocalEnvError, match="SHA-256 .* refusing to run it"), local_stack(tmp_path, engine="java"):
        pass


@pytest.mark.dynamodb_local
def test_the_fetched_jar_is_the_pinned_one():
    emulator = ensure_emulator()
    assert (emulator / "DynamoDBLocal.jar").is_file()
