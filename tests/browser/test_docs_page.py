"""The documentation page in a real browser: Debian's chromium, driven by Playwright, opens
GET /docs on the local API (the gateway in a thread, DynamoDB Local and S3 behind it), shows
every operation of the document, and runs "Try it out" -> "Execute" on GET /api/skills.

Never Playwright's own browser download: chromium comes from apt (`make browser`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.support import REPO, local_api

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCUMENT = json.loads((REPO / "docs" / "openapi.json").read_text())


@pytest.fixture(scope="module")
def api_url(tmp_path_factory) -> Iterator[str]:
    with local_api(tmp_path_factory.mktemp("browser-state")) as (url, _services):
        yield url


@pytest.fixture
def page(api_url) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=api_url)
            yield context.new_page()
        finally:
            browser.close()


def test_the_docs_page_lists_every_operation_and_runs_one(page, api_url):
    # Given everything the page asks for, recorded
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: problems.append(response.url) if response.status >= 400 else None)
    # When the docs page is opened
    page.goto("/docs")
    # Then every operation of the document is listed, by its operation id
    operations = [(path, method) for path, item in DOCUMENT["paths"].items() for method in item]
    for path, method in operations:
        block = page.locator(f"#operations-{item_tag(path, method)}-{DOCUMENT['paths'][path][method]['operationId']}")
        expect(block).to_be_visible()
    assert page.locator(".opblock").count() == len(operations)

    # When GET /api/skills is tried out and executed
    skills = page.locator(f"#operations-skills-{DOCUMENT['paths']['/api/skills']['get']['operationId']}")
    skills.locator(".opblock-summary").click()
    skills.get_by_role("button", name="Try it out").click()
    skills.get_by_role("button", name="Execute").click()
    # Then the page shows the live answer: a 200 with the catalogue in the envelope
    live = skills.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_have_text("200", timeout=30_000)
    expect(live.locator(".response-col_description")).to_contain_text('"success": true')
    # and nothing came from anywhere but this API, without a single console error
    assert requested and all(url.startswith(api_url) for url in requested), requested
    assert problems == []


def item_tag(path: str, method: str) -> str:
    return DOCUMENT["paths"][path][method]["tags"][0]
