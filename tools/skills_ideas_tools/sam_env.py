"""``skills-ideas sam-env``: env.json for ``sam local invoke`` against the services of ``make dev``.

``sam local invoke -t <template> <LogicalId> -e events/<function>.json -n env.json`` runs a
function of the synthesized template in a Lambda container (Docker). This writes the
``env.json`` that points every function of the template at what ``make dev`` runs: DynamoDB
Local and the S3 emulation (their ports, from the running ``serve``; the host as a container
sees it, ``host.docker.internal`` by default), the local table, bucket and signing key, and
blanks for the cloud-only settings (Secrets Manager key name, CloudFront distribution).

The stage's functions live in a nested stack: given the stage's template, this reads the nested
template it names (``<id>.nested.template.json``, beside it) and SAM runs on that one.

SAM applies only the variables a function's template declares. When the template lacks some
(the deployed stack has no use for endpoints or a plain key), a copy of it that declares them,
empty, is written beside it, ``<stack>.local.template.json``: run SAM on that one.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from skills_ideas.routes import functions

from .assembly import nested_template_files
from .local_env import LocalServices, repo_root, resolve_state_dir, running_services

DEFAULT_TEMPLATE = "cdk.out/dev/SkillsIdeas-dev.template.json"
DEFAULT_OUT = "env.json"
#: How a container reaches the host: Docker Desktop forwards it to the host's loopback.
DEFAULT_HOST = "host.docker.internal"
#: Settings of the deployed stack that must not apply locally: no Secrets Manager lookup (the
#: local key is given), no CloudFront invalidation after a catalogue write.
CLOUD_ONLY = ("JWT_SECRET_NAME", "CDN_DISTRIBUTION_ID")
LOCAL_TEMPLATE_SUFFIX = ".local.template.json"


class SamEnvError(RuntimeError):
    """env.json cannot be written as asked; the message says why."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sam-env",
        help="write env.json for sam local invoke against make dev's services (make sam-env)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--template", default=DEFAULT_TEMPLATE, help=f"synthesized template (default: {DEFAULT_TEMPLATE})"
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"where to write (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the host's name inside the container (default: {DEFAULT_HOST}; 127.0.0.1 with --docker-network host)",
    )
    parser.add_argument("--state-dir", help="state of the running make dev (default: $LOCAL_STATE_DIR or .local/)")
    parser.set_defaults(run=run)


def template_functions(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The API's functions in a synthesized template: manifest name -> (logical id, declared
    environment). The stack names each ``<prefix>-<function>``; other functions (CDK's custom
    resource handlers) are left out."""
    ours = set(functions())
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        properties = resource.get("Properties") or {}
        name = properties.get("FunctionName")
        function = name.rsplit("-", 1)[-1] if isinstance(name, str) else None
        if function is not None and function in ours:
            declared = (properties.get("Environment") or {}).get("Variables") or {}
            found[function] = (logical_id, dict(declared))
    return found


def functions_template(template_path: Path) -> Path:
    """The template that holds the API's functions: ``template_path`` itself, or the nested
    stack's template it names (the stage's stack keeps its functions in a nested stack; SAM
    invokes them from that template, whose asset paths are relative to the same directory)."""
    try:
        template = json.loads(template_path.read_text())
    except OSError as exc:
        raise SamEnvError(f"cannot read {template_path}: {exc.strerror or exc} (run make synth)") from None
    if template_functions(template):
        return template_path
    for file_name in nested_template_files(template).values():
        nested = template_path.with_name(file_name)
        if nested.is_file() and template_functions(json.loads(nested.read_text())):
            return nested
    return template_path


def _as_seen_from_container(url: str, host: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


def container_environment(services: LocalServices, host: str) -> dict[str, str]:
    """What the handlers get under ``make dev``, with the endpoints as a container reaches them.

    No credentials or region: SAM passes the invoking shell's (and only declared variables)."""
    env: dict[str, str] = {}
    for name, value in services.env().items():
        if name.startswith("AWS_") and not name.startswith("AWS_ENDPOINT_URL"):
            continue
        env[name] = _as_seen_from_container(value, host) if "ENDPOINT_URL" in name else value
    return env


def env_file(template: dict[str, Any], services: LocalServices, host: str = DEFAULT_HOST) -> dict[str, dict[str, str]]:
    """env.json: per logical id, the local environment and blanks for the cloud-only settings."""
    local = container_environment(services, host)
    result: dict[str, dict[str, str]] = {}
    for _function, (logical_id, declared) in sorted(template_functions(template).items()):
        result[logical_id] = {**local, **{name: "" for name in CLOUD_ONLY if name in declared}}
    return result


def undeclared(template: dict[str, Any], env: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Per logical id, the env.json variables its template does not declare (SAM drops those)."""
    declared = {logical_id: names for logical_id, names in template_functions(template).values()}
    missing = {logical_id: sorted(set(values) - set(declared[logical_id])) for logical_id, values in env.items()}
    return {logical_id: names for logical_id, names in missing.items() if names}


def with_declarations(template: dict[str, Any], env: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A copy of ``template`` whose functions declare (empty) every variable env.json gives them."""
    ready = copy.deepcopy(template)
    for logical_id, values in env.items():
        properties = ready["Resources"][logical_id].setdefault("Properties", {})
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        for name in values:
            variables.setdefault(name, "")
    return ready


def write(template_path: Path, out: Path, services: LocalServices, host: str = DEFAULT_HOST) -> Path:
    """Write env.json (and the SAM-ready template copy when needed); the template SAM must use."""
    try:
        template = json.loads(template_path.read_text())
    except OSError as exc:
        raise SamEnvError(f"cannot read {template_path}: {exc.strerror or exc} (run make synth)") from None
    env = env_file(template, services, host)
    if not env:
        raise SamEnvError(f"{template_path} has none of the API's functions")
    out.write_text(json.dumps(env, indent=2) + "\n")
    if not undeclared(template, env):
        return template_path
    ready = template_path.with_name(template_path.name.removesuffix(".template.json") + LOCAL_TEMPLATE_SUFFIX)
    ready.write_text(json.dumps(with_declarations(template, env), indent=1))
    return ready


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    state = resolve_state_dir(args.state_dir)
    services = running_services(state)
    if services is None:
        print(
            f"error: make dev is not running on {state}: start it first (env.json names the ports it picked)",
            file=sys.stderr,
        )
        return 1
    template_path = Path(args.template)
    if not template_path.is_absolute() and not template_path.exists():
        template_path = repo_root() / template_path
    try:
        template_path = functions_template(template_path)
        use = write(template_path, Path(args.out), services, args.host)
    except SamEnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    template = json.loads(template_path.read_text())
    names = template_functions(template)
    print(f"wrote {args.out} for {len(names)} functions of {_relative(template_path)}", file=sys.stderr)
    absent = sorted(set(functions()) - set(names))
    if absent:
        print(f"warning: the template has no function for {', '.join(absent)} (synthesize it again)", file=sys.stderr)
    if use != template_path:
        print(
            f"the template does not declare every variable env.json sets, and SAM applies only declared ones:\n"
            f"wrote {_relative(use)}, the same template declaring them; use it with -t",
            file=sys.stderr,
        )
    for function, (logical_id, _declared) in sorted(names.items()):
        print(f"sam local invoke -t {_relative(use)} {logical_id} -e events/{function}.json -n {args.out}")
    return 0
