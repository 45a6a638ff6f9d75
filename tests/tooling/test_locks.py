"""The hashed locks: one truth for the dev venv and the Lambda dependencies layer.

``requirements-dev.txt`` (dev + cdk + build tools) and ``layers/dependencies/requirements.txt``
(what the layer ships) are written together by ``make update-deps``; ``make install`` installs
the first, ``infra/layer_build.py`` the second.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra import layer_build

REPO = Path(__file__).resolve().parents[2]
DEV_LOCK = REPO / "requirements-dev.txt"
RUNTIME_LOCK = layer_build.REQUIREMENTS
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

#: Where the dev venv runs (this machine) and where the layer runs (Lambda python3.12, ARM64).
DEV_ENV = {"python_version": "3.12", "python_full_version": "3.12.1", "platform_machine": "x86_64"}
LAMBDA_ENV = {"python_version": "3.12", "python_full_version": "3.12.8", "platform_machine": "aarch64"}
LINUX_CPYTHON = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str | None
    hashes: int

    def applies(self, env: dict[str, str]) -> bool:
        return self.marker is None or Marker(self.marker).evaluate({**LINUX_CPYTHON, **env})


def read_lock(path: Path) -> list[Pin]:
    pins: list[Pin] = []
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            pins.append(Pin(canonicalize_name(match["name"]), match["version"], match["marker"], 0))
        elif line.strip().startswith("--hash=sha256:") and pins:
            pins[-1] = Pin(pins[-1].name, pins[-1].version, pins[-1].marker, pins[-1].hashes + 1)
        elif line and not line.lstrip().startswith("#"):
            raise AssertionError(f"{path.name}: unexpected line {line!r}")
    return pins


def resolved(pins: list[Pin], env: dict[str, str]) -> dict[str, str]:
    """name -> version of the pins that apply in ``env`` (a universal lock may pin per Python)."""
    return {pin.name: pin.version for pin in pins if pin.applies(env)}


DEV = read_lock(DEV_LOCK)
RUNTIME = read_lock(RUNTIME_LOCK)


def test_both_locks_pin_every_package_with_hashes():
    for pin in DEV + RUNTIME:
        assert pin.hashes >= 1, f"{pin.name}=={pin.version} has no --hash"
    assert len(resolved(RUNTIME, LAMBDA_ENV)) >= 7  # the 7 direct runtime dependencies at least


def test_a_package_pinned_in_both_locks_has_the_same_version():
    dev = resolved(DEV, DEV_ENV)
    runtime = resolved(RUNTIME, DEV_ENV)
    differ = {name: (runtime[name], dev.get(name)) for name in runtime if dev.get(name) != runtime[name]}
    assert not differ, f"runtime lock vs dev lock (run `make update-deps`): {differ}"


def test_the_layer_lock_reads_the_same_on_lambda_as_here():
    # pip evaluates environment markers on the machine that builds the layer, not on Lambda's.
    assert resolved(RUNTIME, LAMBDA_ENV) == resolved(RUNTIME, DEV_ENV)


def _requirements(group: str | None) -> list[Requirement]:
    project = PYPROJECT["project"]
    raw = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [Requirement(text) for text in raw]


@pytest.mark.parametrize(
    "lock, groups",
    [(RUNTIME, [None]), (DEV, [None, "dev", "cdk"])],
    ids=["runtime lock", "dev lock"],
)
def test_the_locks_satisfy_pyproject(lock, groups):
    pinned = resolved(lock, DEV_ENV)
    for group in groups:
        for requirement in _requirements(group):
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{requirement} is not in the lock: run `make update-deps`"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{name}=={pinned[name]} does not satisfy {requirement}: run `make update-deps`"
            )


def test_the_build_tools_are_locked_too():
    pinned = resolved(DEV, DEV_ENV)
    for text in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(text)
        assert requirement.specifier.contains(pinned[canonicalize_name(requirement.name)])
    assert "pip" in pinned


def test_the_venv_holds_the_dev_lock():
    import platform
    import sys

    here = {
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "python_full_version": platform.python_version(),
        "platform_machine": platform.machine(),
    }
    wrong = {}
    for name, version in resolved(DEV, here).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed (run `make install`): {wrong}"


def test_the_layer_ships_exactly_the_runtime_lock():
    out = layer_build.build()  # a no-op when the layer is current with the lock
    shipped: dict[str, str] = {}
    for info in (out / "python").glob("*.dist-info"):
        meta = metadata.Distribution.at(info).metadata
        shipped[canonicalize_name(meta["Name"])] = meta["Version"]
    assert shipped == resolved(RUNTIME, LAMBDA_ENV)
    assert shipped["boto3"] and shipped["botocore"]  # shipped, not left to the runtime's copy
