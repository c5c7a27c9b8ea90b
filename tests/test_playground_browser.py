"""The playground page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

A real uvicorn server with the fixture voices serves the page; the browser
loads it, fills the form and plays the stream through WebAudio. The page
publishes its counters as data attributes on ``#player`` (chunks, samples
scheduled, words highlighted, state), which is what these tests read.

Needs the ``playwright`` Python package and a Chromium binary: ``/usr/bin/chromium``
(``apt-get install chromium``) or the path in ``STATECAST_CHROMIUM``. No browser
is downloaded. Set ``STATECAST_PLAYGROUND_SCREENSHOT=docs/playground.png`` to
save the screenshot the first test takes there as well.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from server import Settings, create_app
from server.testing import LiveServer, wait_idle

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (dev extra)")

pytestmark = pytest.mark.slow  # a browser start and a few seconds of real-time audio

CHROMIUM = os.environ.get("STATECAST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]
TIMEOUT_MS = 30_000  # generous: CI shares two cores with everything else
LONG = "This sentence goes on for a good while so that the stop button has something to stop. " * 4


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set STATECAST_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(synth):
    """(app, "host:port"): paced like production, but only 0.2 s ahead, so a long text lasts seconds."""
    app = create_app(Settings(warmup=False, max_ahead_s=0.2), synth=synth)
    with LiveServer(app) as url:
        yield app, url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 960, "height": 600})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # console errors include CSP violations (anything fetched from elsewhere); a 401 is the keyed test's
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    yield pg
    context.close()
    assert not errors, f"errors in the page: {errors}"


def _data(page, name: str) -> str:
    return page.get_attribute("#player", f"data-{name}")


def _wait_data(page, name: str, predicate_js: str) -> None:
    """Wait until ``predicate_js`` (a JS expression over ``v``, the attribute's value) holds."""
    page.wait_for_function(
        f"() => {{ const v = document.getElementById('player').dataset['{_camel(name)}']; return {predicate_js}; }}")


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(w.title() for w in rest)


def _open(page, url: str) -> None:
    page.goto(f"http://{url}/")
    _wait_data(page, "voices", "Number(v) > 0")


def _set_range(page, selector: str, value: str) -> None:
    page.locator(selector).evaluate("(e, v) => { e.value = v; e.dispatchEvent(new Event('input')); }", value)


def test_speak_streams_plays_and_highlights_words(live, page, tmp_path):
    app, url = live
    sent: list[dict] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))))
    _open(page, url)
    voices = page.locator("#voice option").all_inner_texts()
    assert len(voices) == len(app.state.services.voice_names)

    page.fill("#text", "Hello there, this is the playground speaking.")
    second = page.locator("#voice2 option").nth(2).get_attribute("value")
    page.select_option("#voice2", second)
    _set_range(page, "#mix", "40")
    _set_range(page, "#speed", "1.25")
    assert page.inner_text("#mix-value") == "40%" and page.inner_text("#speed-value") == "1.25×"
    page.click("#speak")

    _wait_data(page, "state", "v === 'done'")
    _wait_data(page, "words-highlighted", "Number(v) >= 1")  # the playhead has reached a word

    speak = next(m for m in sent if m["type"] == "speak")
    first = page.input_value("#voice")
    assert speak["voice"] == {first: 0.6, second: 0.4} and speak["speed"] == 1.25
    assert speak["output_format"]["encoding"] == "pcm_f32le" and speak["add_timestamps"] is True

    chunks = int(_data(page, "chunks"))
    samples = int(_data(page, "samples-scheduled"))
    assert chunks >= 2 and page.inner_text("#chunk-count") == str(chunks)
    # every sample the server made was scheduled: audio_ms at the requested rate
    audio_s = float(page.inner_text("#audio-len").split()[0])
    rate = speak["output_format"]["sample_rate"]
    assert abs(samples / rate - audio_s) < 0.02, (samples, rate, audio_s)
    assert re.fullmatch(r"\d+ ms", page.inner_text("#ttfa"))
    assert float(_data(page, "ttfa-ms")) > 0
    assert re.fullmatch(r"\d+\.\d ms", page.inner_text("#server-ttfa"))
    assert page.locator("#words span").count() >= 1
    assert page.is_hidden("#error")
    assert page.requests and all(u.startswith(f"http://{url}/") for u in page.requests), page.requests

    shot = tmp_path / "playground.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("STATECAST_PLAYGROUND_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["STATECAST_PLAYGROUND_SCREENSHOT"])
    assert wait_idle(app)


def test_stop_cancels_the_stream_on_the_server(live, page):
    app, url = live
    _open(page, url)
    page.fill("#text", LONG)
    page.click("#speak")
    _wait_data(page, "chunks", "Number(v) >= 1")
    assert app.state.services.scheduler.live == 1  # still being made: the text lasts many seconds
    page.click("#stop")
    _wait_data(page, "state", "v === 'cancelled'")
    assert wait_idle(app)  # the server freed the stream
    assert page.is_disabled("#stop") and page.is_hidden("#error")
    chunks = int(_data(page, "chunks"))
    page.wait_for_timeout(300)
    assert int(_data(page, "chunks")) == chunks  # nothing more arrives for the stopped context


def test_server_errors_are_shown(live, page):
    _, url = live
    _open(page, url)
    page.fill("#text", "   ")
    page.click("#speak")
    _wait_data(page, "state", "v === 'error'")
    assert page.is_visible("#error")
    assert page.inner_text("#error").startswith("empty_text:")
    assert page.get_attribute("#error", "role") == "alert"
    # the next request clears it and works
    page.fill("#text", "Fine now.")
    page.click("#speak")
    _wait_data(page, "state", "v === 'done'")
    assert page.is_hidden("#error") and int(_data(page, "chunks")) >= 1


def test_api_key_field_unlocks_a_keyed_server(synth, page):
    app = create_app(Settings(warmup=False, api_key="sesame"), synth=synth)
    with LiveServer(app) as url:
        page.goto(f"http://{url}/")  # the page itself needs no key
        page.wait_for_selector("#error:not([hidden])")
        assert "API key" in page.inner_text("#error")
        page.fill("#api-key", "sesame")
        page.dispatch_event("#api-key", "change")
        _wait_data(page, "voices", "Number(v) > 0")
        assert page.is_hidden("#error")
        page.fill("#text", "With a key.")
        page.click("#speak")
        _wait_data(page, "state", "v === 'done'")
        assert int(_data(page, "chunks")) >= 1
