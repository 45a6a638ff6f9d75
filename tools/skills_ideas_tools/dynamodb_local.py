"""DynamoDB Local (AWS's own engine) as a child process: fetched once from npm, run with Java.

The jar ships in the npm package ``amplify-dynamodb-simulator`` (``package/emulator``). It is
downloaded with ``npm pack`` into a cache shared by every checkout and started with
``-sharedDb -dbPath <state dir>`` so its data survives restarts. The package is checked against
a pinned SHA-256 before it is unpacked, and the jar before every start: a changed file is never
run. ``Watchdog`` keeps a running DynamoDB Local up (``make dev``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("skills_ideas_tools.dynamodb_local")

NPM_PACKAGE = "amplify-dynamodb-simulator"
NPM_VERSION = "2.9.30"
#: SHA-256 of the package tarball that ``npm pack`` fetches (checked before unpacking).
PACKAGE_SHA256 = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"
#: SHA-256 of ``package/emulator/DynamoDBLocal.jar`` in that package (checked before every start).
JAR_SHA256 = "454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7"
START_TIMEOUT_SECONDS = 60.0


class DynamoDBLocalUnavailable(RuntimeError):
    """Java or the jar is missing, or the process did not come up; the message says which."""


class EmulatorChecksumMismatch(DynamoDBLocalUnavailable):
    """The downloaded package or the cached jar is not the pinned one; it is not run."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_jar(emulator: Path, expected: str = JAR_SHA256) -> Path:
    """The jar in ``emulator`` if its SHA-256 is the pinned one, else EmulatorChecksumMismatch."""
    jar = emulator / "DynamoDBLocal.jar"
    actual = sha256_of(jar)
    if actual != expected:
        raise EmulatorChecksumMismatch(
            f"{jar} has SHA-256 {actual}, not the pinned {expected} of {NPM_PACKAGE}@{NPM_VERSION}: "
            f"refusing to run it. Delete {emulator} to fetch it again."
        )
    return jar


def cache_dir() -> Path:
    base = os.environ.get("SKILLS_IDEAS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "skills-ideas"
    )
    return Path(base) / "dynamodb-local" / NPM_VERSION


def java_executable() -> str:
    """The java binary (JAVA_HOME first), or DynamoDBLocalUnavailable."""
    java_home = os.environ.get("JAVA_HOME")
    candidates = [os.path.join(java_home, "bin", "java")] if java_home else []
    candidates.append(shutil.which("java") or "")
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise DynamoDBLocalUnavailable("Java was not found (install a Java 17 runtime or set JAVA_HOME)")


def ensure_emulator(cache: Path | None = None) -> Path:
    """The directory holding the verified DynamoDBLocal.jar, fetching it with ``npm pack`` the first time."""
    target = _fetch_emulator(cache or cache_dir())
    verify_jar(target)
    return target


def _fetch_emulator(cache: Path) -> Path:
    target = cache / "emulator"
    if (target / "DynamoDBLocal.jar").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:  # one download even with parallel starts
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "DynamoDBLocal.jar").is_file():
            return target
        npm = shutil.which("npm")
        if npm is None:
            raise DynamoDBLocalUnavailable("npm was not found, so the DynamoDB Local jar cannot be fetched")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
            done = subprocess.run(  # noqa: S603 - fixed arguments
                [npm, "pack", spec, "--pack-destination", tmp, "--silent"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode != 0 or not tarballs:
                raise DynamoDBLocalUnavailable(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
            actual = sha256_of(tarballs[0])
            if actual != PACKAGE_SHA256:
                raise EmulatorChecksumMismatch(
                    f"npm pack {spec} gave a package with SHA-256 {actual}, not the pinned {PACKAGE_SHA256}: "
                    "refusing to unpack it"
                )
            with tarfile.open(tarballs[0]) as archive:
                members = [m for m in archive.getmembers() if m.name.startswith("package/emulator/")]
                archive.extractall(tmp, members=members, filter="data")
            os.replace(Path(tmp) / "package" / "emulator", target)
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, deadline_seconds: float, interval: float = 0.1) -> bool:
    """Poll ``check()`` until it returns truthy or the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())


def answers(endpoint: str) -> bool:
    """Whether a DynamoDB API answers at ``endpoint`` (any well-formed reply counts)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        config=Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
        return True
    except (BotoCoreError, ClientError, OSError):
        return False


class DynamoDBLocal:
    """One DynamoDB Local process on a free loopback port, its database in ``db_dir``."""

    def __init__(self, db_dir: Path, port: int | None = None, cache: Path | None = None) -> None:
        self.db_dir = db_dir
        self.port = port or free_port()
        self.cache = cache
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> DynamoDBLocal:
        java = java_executable()
        emulator = ensure_emulator(self.cache)
        self.db_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.db_dir / "dynamodb-local.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                java,
                f"-Djava.library.path={emulator / 'DynamoDBLocal_lib'}",
                "-jar",
                str(emulator / "DynamoDBLocal.jar"),
                "-sharedDb",
                "-dbPath",
                str(self.db_dir),
                "-port",
                str(self.port),
                # Never phone home: this machine must not reach AWS. (The metadata file it
                # writes lands in its working directory, the state dir, not the repository.)
                "-disableTelemetry",
            ],
            cwd=self.db_dir,
            env={**os.environ, "DDB_LOCAL_TELEMETRY": "0"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop it in order
        )
        log_file.close()
        process = self.process
        up = wait_until(lambda: process.poll() is not None or answers(self.endpoint), timeout)
        if not up or process.poll() is not None:
            self.stop()
            tail = (self.db_dir / "dynamodb-local.log").read_text(errors="replace")[-1000:]
            raise DynamoDBLocalUnavailable(
                f"DynamoDB Local did not answer on {self.endpoint} within {timeout:.0f}s:\n{tail}"
            )
        return self

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"code {code}, {signal.Signals(-code).name}"
    return f"code {code}"


class Watchdog:
    """Keeps DynamoDB Local running for ``make dev``.

    Waits on the process (so an exit is reaped at once, never left a zombie), says so, and
    starts a new one on the same port and database directory. At most ``max_restarts`` in
    any ``window_seconds``: past that it gives up and calls ``on_give_up`` with the reason.
    ``pid`` is the running process, a child of this process (started by ``DynamoDBLocal``).
    """

    def __init__(
        self,
        db_dir: Path,
        port: int,
        pid: int,
        *,
        cache: Path | None = None,
        max_restarts: int = 3,
        window_seconds: float = 600.0,
        on_restart: Callable[[int], None] | None = None,
        on_give_up: Callable[[str], None] | None = None,
    ) -> None:
        self.db_dir = db_dir
        self.port = port
        self.pid = pid
        self.cache = cache
        self.max_restarts = max_restarts
        self.window_seconds = window_seconds
        self.on_restart = on_restart
        self.on_give_up = on_give_up
        self.restarts: deque[float] = deque()
        self._current: DynamoDBLocal | None = None  # the process this watchdog started, if any
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="dynamodb-local-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; stop the process this watchdog started (the first one is its owner's)."""
        with self._lock:
            self._stopping.set()
            current, self._current = self._current, None
        if current is not None:
            current.stop()

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait(self, pid: int) -> int | None:
        """Block until ``pid`` exits; its exit code (negative: the signal), None when stopping."""
        current = self._current
        if current is not None and current.process is not None and current.process.pid == pid:
            return current.process.wait()
        while not self._stopping.is_set():
            try:
                waited, status = os.waitpid(pid, 0)
            except ChildProcessError:  # reaped by its owner, which only happens when stopping
                if not self._stopping.is_set():
                    log.error("cannot watch DynamoDB Local (pid %d): not a running child of this process", pid)
                return None
            if waited == pid:
                return os.waitstatus_to_exitcode(status)
        return None

    def _watch(self) -> None:
        pid = self.pid
        while True:
            code = self._wait(pid)
            if code is None or self._stopping.is_set():
                return
            log_file = self.db_dir / "dynamodb-local.log"
            now = time.monotonic()
            while self.restarts and now - self.restarts[0] > self.window_seconds:
                self.restarts.popleft()
            if len(self.restarts) >= self.max_restarts:
                self._give_up(
                    f"DynamoDB Local exited ({_describe_exit(code)}) again after {len(self.restarts)} restart(s) "
                    f"in {self.window_seconds:.0f}s; giving up. Its log: {log_file}"
                )
                return
            self.restarts.append(now)
            log.error(
                "DynamoDB Local exited (%s); restarting (%d of at most %d) on port %d, database %s",
                _describe_exit(code),
                len(self.restarts),
                self.max_restarts,
                self.port,
                self.db_dir,
            )
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    self._current = DynamoDBLocal(self.db_dir, self.port, self.cache).start()
                except DynamoDBLocalUnavailable as exc:
                    self._current = None
                    self._give_up(f"DynamoDB Local exited ({_describe_exit(code)}) and could not be restarted: {exc}")
                    return
                assert self._current.process is not None
                pid = self.pid = self._current.process.pid
            log.warning("DynamoDB Local is back on port %d (pid %d)", self.port, pid)
            if self.on_restart is not None:
                self.on_restart(pid)

    def _give_up(self, message: str) -> None:
        log.critical("%s", message)
        if self.on_give_up is not None:
            self.on_give_up(message)
