#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c stage=prod`` (cdk.json runs this with the venv's python)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `python infra/app.py` puts infra/ first on sys.path; the package and the shared layer live above.
sys.path[0:1] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from infra.stack import build_app  # noqa: E402

if __name__ == "__main__":
    app, _ = build_app()
    app.synth()
