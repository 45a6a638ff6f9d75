"""Build the third-party dependencies layer without Docker.

pip downloads manylinux aarch64 wheels for CPython 3.12 (what Lambda runs on ARM64) into
``<out>/python``. The build is skipped when the requirements file has not changed since the
last build (its hash is kept in a stamp file), so ``make layer``, ``make synth`` and the
infrastructure tests all call this and only the first one pays.

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

#: Distributions the Lambda Python runtime already ships (boto3 and its dependencies). A copy
#: in the layer would shadow the runtime's and could pair a layer botocore with the runtime's
#: boto3, so they are removed after pip pulls them in (pynamodb depends on botocore).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")


def _digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def is_current(out: Path = DEFAULT_OUT, requirements: Path = REQUIREMENTS) -> bool:
    stamp = out / STAMP_NAME
    return stamp.is_file() and stamp.read_text().strip() == _digest(requirements)


def _prune_runtime_provided(site: Path) -> None:
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: nothing runs them on Lambda
    for cached in (site / "__pycache__").glob("*.pyc"):
        if cached.name.split(".")[0] in RUNTIME_PROVIDED:
            cached.unlink()
    for entry in site.iterdir():
        top = entry.name.split("-")[0].lower().removesuffix(".py")
        if top in RUNTIME_PROVIDED or (entry.name.endswith(".dist-info") and top == "python_dateutil"):
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def build(out: Path = DEFAULT_OUT, requirements: Path = REQUIREMENTS) -> Path:
    """Build the layer into ``out`` (its ``python/`` subfolder) unless it is current."""
    if is_current(out, requirements):
        return out
    if out.exists():
        shutil.rmtree(out)
    site = out / "python"
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--platform",
            "manylinux2014_aarch64",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            "--target",
            str(site),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    _prune_runtime_provided(site)
    (out / STAMP_NAME).write_text(_digest(requirements) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    print(build(args.out))


if __name__ == "__main__":
    main()
