"""The chat page's routes on the app, without Ray: what is served, with which headers, and nothing else."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from cephalo_ray.serve.app import create_fastapi_app
from cephalo_ray.serve.page import asset_names, page_asset


@pytest.fixture
def client() -> Any:
    return TestClient(create_fastapi_app(chat_page=True))


def test_the_page_and_its_files_are_served_with_a_same_origin_policy(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "script-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # every file the HTML names is served, by a relative URL (it works under a route prefix)
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert linked and all(not link.startswith(("/", "http")) for link in linked)
    for link in linked:
        served = client.get("/" + link)
        assert served.status_code == 200, link
    assert client.get("/page/chat.js").headers["content-type"].startswith("text/javascript")
    assert set(asset_names()) >= {"index.html", "chat.js", "chat.css", "markdown.js"}


@pytest.mark.parametrize(
    "path", ["/page/../app.py", "/page/..%2fapp.py", "/page/%2e%2e/config.py", "/page/page.py", "/page/"]
)
def test_nothing_but_the_pages_files_is_served(client: Any, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "error" in answer.json()  # OpenAI's shape, like every other error of the app
    assert page_asset("../page.py") is None and page_asset("page.py") is None


def test_no_script_ever_parses_text_as_html() -> None:
    for name in asset_names():
        if name.endswith(".js"):
            source = page_asset(name).body.decode()  # type: ignore[union-attr]
            for sink in (
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
            ):
                assert sink not in source, f"{name} uses {sink}"


def test_the_page_can_be_left_out() -> None:
    api_only = TestClient(create_fastapi_app(chat_page=False))
    assert api_only.get("/").status_code == 404
    assert api_only.get("/page/chat.js").status_code == 404
    assert "chat page" not in api_only.get("/").json()["error"]["message"]
