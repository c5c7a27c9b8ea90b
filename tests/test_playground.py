"""The playground page at ``/``, served without a browser: routes, auth, and no outside resources.

The page in a real browser is tested in test_playground_browser.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from server import Settings, create_app
from server.routes_page import ASSETS, STATIC_DIR

testclient = pytest.importorskip("fastapi.testclient")


@pytest.fixture(scope="module")
def keyed_client(synth):
    app = create_app(Settings(warmup=False, api_key="sesame"), synth=synth)
    with testclient.TestClient(app) as client:
        yield client


class _Refs(HTMLParser):
    """Every src/href in a document, and the ids of form controls with their <label for=...>."""

    def __init__(self):
        super().__init__()
        self.refs, self.controls, self.labelled = [], [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.refs += [a[k] for k in ("src", "href") if k in a]
        if tag in ("input", "select", "textarea"):
            self.controls.append(a.get("id"))
        if tag == "label" and "for" in a:
            self.labelled.add(a["for"])


def test_page_is_public_but_the_api_still_needs_the_key(keyed_client):
    page = keyed_client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'id="speak"' in page.text and 'id="api-key"' in page.text
    for name in ASSETS:
        r = keyed_client.get(f"/static/{name}")
        assert r.status_code == 200 and r.content == (STATIC_DIR / name).read_bytes()
    assert keyed_client.get("/static/playground.js").headers["content-type"].startswith("text/javascript")
    assert keyed_client.get("/v1/voices").status_code == 401
    assert keyed_client.get("/v1/voices", headers={"Authorization": "Bearer sesame"}).status_code == 200


@pytest.mark.parametrize("name", ["index.html", "..%2Fapp.py", "missing.js", "..%2F..%2Fpyproject.toml"])
def test_only_listed_assets_are_served(keyed_client, name):
    r = keyed_client.get(f"/static/{name}")
    assert r.status_code == 404  # our own 404 for a plain name; the router's for an encoded slash
    assert "import" not in r.text and "<html" not in r.text


def test_page_loads_nothing_from_elsewhere_and_labels_every_control():
    html = (STATIC_DIR / "index.html").read_text()
    parser = _Refs()
    parser.feed(html)
    assert parser.refs, "the page must reference its own script and stylesheet"
    for ref in parser.refs:
        assert ref.startswith("/static/") or ref.startswith("data:"), ref
    assert set(parser.controls) <= parser.labelled, set(parser.controls) - parser.labelled
    # no absolute URLs in the script or the stylesheet either (the websocket URL is built from location)
    for name in ASSETS:
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"\b(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name
        assert "@import" not in text and "url(" not in text, name
