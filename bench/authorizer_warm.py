"""Warm cost of the request authorizer: one process, the sample token, N invocations against
DynamoDB Local (each one JWT check plus the BatchGetItem of profile and session; the session's
last use is written at most once a minute, so once here). Prints the median and p95.

    .venv/bin/python bench/authorizer_warm.py [--calls 200]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from skills_ideas_tools import samples  # noqa: E402
from skills_ideas_tools.local_env import local_stack  # noqa: E402


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, local_stack(state, engine="java", reuse=False) as services:
        os.environ.update(services.env())
        os.environ["LOG_LEVEL"] = "WARNING"
        samples.seed()
        event = samples.with_sample_token(json.loads((REPO / "events/authorizer.json").read_text()))
        sys.path.insert(0, str(REPO / "functions" / "authorizer"))
        handler = importlib.import_module("app").lambda_handler
        handler(event, Context())  # the cold one
        timings = []
        for _ in range(args.calls):
            started = time.perf_counter()
            result = handler(event, Context())
            timings.append((time.perf_counter() - started) * 1000)
            assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    timings.sort()
    print(
        f"authorizer warm, {args.calls} calls: median {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
