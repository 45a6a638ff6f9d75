"""DynamoDB Local (AWS's own engine) as a child process: fetched once from npm, run with Java.

The jar ships in the npm package ``amplify-dynamodb-simulator`` (``package/emulator``). It is
downloaded with ``npm pack`` into a cache shared by every checkout and started with
``-sharedDb -dbPath <state dir>`` so its data survives restarts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

NPM_PACKAGE = "amplify-dynamodb-simulator"
NPM_VERSION = "2.9.30"
START_TIMEOUT_SECONDS = 60.0


class DynamoDBLocalUnavailable(RuntimeError):
    """Java or the jar is missing, or the process did not come up; the message says which."""


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
    """The directory holding DynamoDBLocal.jar, fetching it with ``npm pack`` the first time."""
    target = (cache or cache_dir()) / "emulator"
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
