#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c stage=prod`` (cdk.json runs this with the venv's python)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `python infra/app.py` puts infra/ first on sys.path; the package and the shared layer live above.
sys.path[0:1] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from infra.config import SettingsError  # noqa: E402
from infra.stack import build_app  # noqa: E402

if __name__ == "__main__":
    try:
        app, _ = build_app()
    except SettingsError as error:
        # A deployment setting is missing or wrong: say which, without a traceback.
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    app.synth()
