"""cfn-lint over synthesized templates: errors fail, warnings are printed.

Used by ``make synth`` and by the infrastructure tests, so both apply the same rules.
Run: ``python -m infra.cfn_lint DIR [DIR...]`` (each a cloud assembly, e.g. cdk.out/dev).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: Warnings that CDK's own output always triggers, not findings about this stack:
#: W3005 - CDK adds DependsOn next to a GetAtt of the same resource (roles of functions);
#: W3045 - CDK sets the legacy AccessControl on a bucket that receives CloudFront logs.
IGNORED = ("W3005", "W3045")


def templates(assembly_dirs: list[Path]) -> list[Path]:
    found = sorted(t for d in assembly_dirs for t in Path(d).glob("*.template.json"))
    if not found:
        raise FileNotFoundError(f"no *.template.json under {', '.join(map(str, assembly_dirs))}")
    return found


def run(assembly_dirs: list[Path]) -> subprocess.CompletedProcess[str]:
    """cfn-lint every template; the return code is non-zero only on errors."""
    return subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--non-zero-exit-code",
            "error",
            "--ignore-checks",
            *IGNORED,
            "--",
            *map(str, templates(assembly_dirs)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> None:
    result = run([Path(arg) for arg in sys.argv[1:]] or [Path("cdk.out")])
    print(result.stdout + result.stderr, end="")
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
