"""One cold start: a fresh interpreter imports one handler and serves one event.

Run by bench/cold_start.py; prints ``BENCH {"ms": ..., "status": ...}`` as its last line.
``floor`` is the reference: import boto3, make a DynamoDB client, one GetItem.
"""

import sys
import time

T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402


class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"


def main() -> None:
    function, event_path = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    if function == "floor":
        import boto3

        client = boto3.client("dynamodb", endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL"))
        client.get_item(TableName=os.environ["TABLE_NAME"], Key={"PK": {"S": "USER#x"}, "SK": {"S": "PROFILE"}})
        status = 200
    else:
        import importlib

        # As in Lambda: the function's own directory is on the path, its module is `app`.
        sys.path.insert(
            0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "functions", function)
        )
        module = importlib.import_module("app")
        with open(event_path) as handle:
            event = json.load(handle)
        result = module.lambda_handler(event, Context())
        status = result.get("statusCode", 200) if "statusCode" in result else 200
    elapsed = (time.perf_counter() - T0) * 1000
    print("BENCH " + json.dumps({"ms": round(elapsed, 1), "status": status}), flush=True)


main()
