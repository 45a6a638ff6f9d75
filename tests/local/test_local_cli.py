"""``skills-ideas invoke`` and ``serve`` as commands: errors, output, reuse of a running serve."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skills_ideas_tools import invoke
from skills_ideas_tools.cli import main
from skills_ideas_tools.lambda_runtime import mapping_loader
from tests.support import serving

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def event_file(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"httpMethod": "GET", "path": "/api/health", "body": None}))
    return path


@pytest.fixture
def fake_functions(monkeypatch):
    """Replace the real handlers of ``invoke`` with fakes: ``fake_functions({"health": fn})``."""

    def install(handlers):
        monkeypatch.setattr(invoke, "make_loader", lambda: mapping_loader(handlers))

    return install


def test_unknown_function_lists_the_known_ones(event_file, capsys):
    assert main(["invoke", "nope", str(event_file)]) == 2
    err = capsys.readouterr().err
    assert "unknown function 'nope'" in err and "login" in err and "authorizer" in err


@pytest.mark.parametrize(
    "content, message",
    [(None, "cannot read event file"), ("{not json", "is not valid JSON"), ("[1]", "must hold a JSON object")],
)
def test_bad_event_file_is_explained(tmp_path, capsys, content, message):
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)
    assert main(["invoke", "health", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_invoke_prints_the_result_and_keeps_logs_off_stdout(tmp_path, event_file, fake_functions, capsys):
    def health(event, context):
        print("a log line")
        return {"statusCode": 200, "body": json.dumps({"table": os.environ["TABLE_NAME"], "path": event["path"]})}

    fake_functions({"health": health})
    assert main(["invoke", "health", str(event_file), "--state-dir", str(tmp_path / "s"), "--engine", "moto"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"table": "skills-ideas-local", "path": "/api/health"}
    assert "a log line" in err


def test_invoke_reports_a_handler_exception(tmp_path, event_file, fake_functions, capsys):
    def health(event, context):
        raise ValueError("broken")

    fake_functions({"health": health})
    assert main(["invoke", "health", str(event_file), "--state-dir", str(tmp_path), "--engine", "moto"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"errorMessage": "broken", "errorType": "ValueError"}
    assert "Traceback" in err


def test_serve_reports_its_port_invoke_reuses_it_and_ctrl_c_stops_it(
    tmp_path, event_file, fake_functions, capsys, http
):
    state = tmp_path / "state"
    services_file = state / "services.json"
    with serving(state) as serve:
        running = json.loads(services_file.read_text())
        assert http(running["gateway_url"] + "/api/does-not-exist").status == 404

        # invoke on the same state dir talks to serve's services instead of starting its own
        def health(event, context):
            return {"statusCode": 200, "body": os.environ["S3_ENDPOINT_URL"]}

        fake_functions({"health": health})
        assert main(["invoke", "health", str(event_file), "--state-dir", str(state)]) == 0
        assert json.loads(capsys.readouterr().out)["body"] == running["s3_endpoint"]
    assert serve.returncode == 0, serve.stderr.read()
    assert not services_file.exists()


def test_invoke_of_a_real_handler_prints_only_its_result_on_stdout(tmp_path):
    # Given a real handler whose structured logger was created before invoke redirected stdout
    # When `skills-ideas invoke` runs it on its sample event without the sample data (the idea
    # does not exist: it logs the 404)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "skills_ideas_tools.cli",
            "invoke",
            "get_idea",
            "events/get_idea.json",
            "--no-samples",
            "--engine",
            "moto",
            "--state-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LOG_LEVEL": "INFO"},
    )
    # Then stdout is exactly the proxy result, and the log line went to stderr
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["statusCode"] == 404
    assert '"message":"request rejected"' in run.stderr
