"""Shared set-up of the local-tooling tests: fake AWS before anything imports boto3."""

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)

import json  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402

#: Two skills in the legacy shape (a plain list), like ../shared/legacy/skills.json.
LEGACY_SKILLS = [
    {
        "id": 1,
        "name": "JavaScript",
        "category": "Programming Language",
        "proficiency": "Expert",
        "description": "Modern JavaScript including ES6+ features",
    },
    {"id": 7, "name": "Docker", "category": "DevOps", "proficiency": "Intermediate", "description": "Containers"},
]


@pytest.fixture
def legacy_catalogue(tmp_path):
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(LEGACY_SKILLS))
    return path


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    def json(self):
        return json.loads(self.raw)


def _http(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers.items()), error.read())


@pytest.fixture
def http():
    """``http(url, method="GET", body=None, headers=None) -> Reply`` (no raise on 4xx/5xx)."""
    return _http
