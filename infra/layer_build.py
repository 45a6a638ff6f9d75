"""Build the third-party dependencies layer without Docker, from the runtime lock.

pip installs exactly ``layers/dependencies/requirements.txt`` (every package pinned, with
hashes: ``--require-hashes``) as aarch64 manylinux wheels for CPython 3.12, what Lambda's
python3.12 runtime on ARM64 runs, into ``<out>/python``. The same lock is a subset of the dev
lock the tests run with (``make update-deps`` writes both), so the layer ships the versions
the tests used.

boto3 and botocore are shipped too, pinned like the rest: the copy in the Lambda runtime is
updated by AWS on its own schedule and may predate what the code uses (S3 conditional writes
with ``IfMatch``); a layer's ``/opt/python`` comes before the runtime's copy on ``sys.path``.

The build is skipped when the lock has not changed since the last build (its hash is kept in
a stamp file), so ``make layer``, ``make synth`` and the infrastructure tests all call this and
only the first one pays.

Run: ``python -m infra.layer_build [--out DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "layers" / "dependencies" / "requirements.txt"
DEFAULT_OUT = ROOT / ".build" / "deps-layer"
STAMP_NAME = ".requirements.sha256"

PYTHON_VERSION = "3.12"
#: The python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34): every manylinux wheel up to
#: that glibc runs there. pip matches platform tags exactly, so each one is listed.
GLIBC_MINOR_MAX = 34
PLATFORMS = ("manylinux2014_aarch64", *(f"manylinux_2_{minor}_aarch64" for minor in range(17, GLIBC_MINOR_MAX + 1)))


def _digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def is_current(out: Path = DEFAULT_OUT, requirements: Path = REQUIREMENTS) -> bool:
    stamp = out / STAMP_NAME
    return stamp.is_file() and stamp.read_text().strip() == _digest(requirements)


def pip_command(site: Path, requirements: Path = REQUIREMENTS) -> list[str]:
    """The pip invocation that installs the lock into ``site`` for Lambda (ARM64, 3.12)."""
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--require-hashes",
        *platforms,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        str(site),
        "-r",
        str(requirements),
    ]


def build(out: Path = DEFAULT_OUT, requirements: Path = REQUIREMENTS) -> Path:
    """Build the layer into ``out`` (its ``python/`` subfolder) unless it is current."""
    if is_current(out, requirements):
        return out
    if out.exists():
        shutil.rmtree(out)
    site = out / "python"
    subprocess.run(pip_command(site, requirements), check=True)  # noqa: S603 - fixed argument list, no shell
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: nothing runs them on Lambda
    (out / STAMP_NAME).write_text(_digest(requirements) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    print(build(args.out))


if __name__ == "__main__":
    main()
