"""The chat page in a real headless Chromium against a running Serve app (tiny LLaVA, tiny Whisper),
under a route prefix and an API key, as a person would use it.

Chromium comes from Debian (`make install-browser`); Playwright drives that binary. Without it the
module skips, unless CEPHALO_REQUIRE_BROWSER is set (CI sets it, so a missing browser fails there).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from cephalo_ray.jobs.serve import ServeConfig, start
from cephalo_ray.models.tiny import build_tiny, build_tiny_whisper
from tests.helpers.media import encoded, png_bytes, wav_bytes
from tests.helpers.servers import free_port

API_KEY_ENV = "CEPHALO_TEST_PAGE_KEY"
API_KEY = "sk-page-51c0"
PREFIX = "/lab"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # a fake microphone that plays a beep, and no permission prompt
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
ARTIFACTS = Path(os.environ.get("CEPHALO_ARTIFACTS", "artifacts"))

# Every data-state an answer element takes, in order, recorded in the page.
RECORD_STATES = """
window.__states = [];
new MutationObserver((mutations) => {
  for (const m of mutations) {
    if (m.type === "attributes" && m.target.dataset.testid === "answer") window.__states.push(m.target.dataset.state);
    for (const node of m.addedNodes || []) {
      if (node.dataset && node.dataset.testid === "answer") window.__states.push(node.dataset.state);
    }
  }
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"]});
"""


def chromium_path() -> str | None:
    return os.environ.get("CEPHALO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def app(ray_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from ray import serve

    root = tmp_path_factory.mktemp("page")
    build_tiny("llava", root / "tiny", seed=0)
    build_tiny_whisper(root / "whisper")
    os.environ[API_KEY_ENV] = API_KEY
    port = free_port()
    start(
        ServeConfig(
            models=[str(root / "tiny")],
            names=["tiny"],
            port=port,
            api_key_env=API_KEY_ENV,
            audio_model=str(root / "whisper"),
            app_name="test-chat-page",
            route_prefix=PREFIX,
            blocking=False,
            limits={
                "max_image_pixels": 250_000,
                "max_tokens_cap": 64,
                "max_audio_seconds": 5,
                "max_prompt_tokens": 1500,
            },
            engine={"batch_wait_ms": 5},
            resources={"num_cpus": 0.5},
        )
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        yield {
            "origin": origin,
            "url": f"{origin}{PREFIX}/",
            "client": openai.OpenAI(base_url=f"{origin}{PREFIX}/v1", api_key=API_KEY, max_retries=0),
            "files": root,
        }
    finally:
        serve.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CEPHALO_REQUIRE_BROWSER"):
            pytest.fail("CEPHALO_REQUIRE_BROWSER is set but no chromium is installed (make install-browser)")
        pytest.skip("no chromium here (make install-browser installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(app: dict[str, Any], browser: Any) -> Iterator[Any]:
    """A fresh tab on the page with the API key entered; every request it makes is recorded and must
    stay on the page's origin."""
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    context.grant_permissions(["microphone", "clipboard-read", "clipboard-write"], origin=app["origin"])
    context.add_init_script(RECORD_STATES)
    tab = context.new_page()
    tab.requests = []  # type: ignore[attr-defined]
    tab.on("request", lambda request: tab.requests.append(request))  # type: ignore[attr-defined]
    tab.goto(app["url"])
    # without a key the model list is refused: the page says so and opens its settings
    wait_until(tab, "() => document.querySelector('#status').textContent.includes('API key')")
    assert tab.locator("#settings").evaluate("details => details.open")
    enter_key(tab, API_KEY)
    wait_until(tab, "() => document.querySelector('[data-testid=model]').options.length > 0")
    wait_until(tab, "() => !document.querySelector('#settings').open")  # it closes once the key works
    try:
        yield tab
        off_origin = [
            request.url
            for request in tab.requests  # type: ignore[attr-defined]
            if not request.url.startswith((app["origin"] + "/", "data:", "blob:"))
        ]
        assert not off_origin, f"the page sent requests off its origin: {off_origin}"
    finally:
        context.close()


def wait_until(tab: Any, expression: str, arg: Any = None, timeout_s: float = 60.0) -> None:
    """Poll a JavaScript function of `arg` until it is true. Playwright's wait_for_function evaluates
    strings inside the page, which the page's Content-Security-Policy (rightly) refuses."""
    deadline = time.monotonic() + timeout_s
    while not tab.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout_s:g} s: {expression}")
        tab.wait_for_timeout(50)


def open_settings(tab: Any) -> None:
    if not tab.locator("#settings").evaluate("details => details.open"):
        tab.locator("#settings summary").click()


def enter_key(tab: Any, key: str) -> None:
    open_settings(tab)
    tab.get_by_label("API key").fill(key)
    tab.get_by_label("API key").press("Tab")  # `change` fires as the field loses focus


def answers(tab: Any) -> Any:
    return tab.locator("[data-testid=answer]")


def wait_answer(tab: Any, count: int, state: str = "done", timeout_s: float = 60.0) -> Any:
    """The `count`-th answer once it is no longer streaming; asserts it reached `state`."""
    answer = answers(tab).nth(count - 1)
    wait_until(
        tab,
        "n => { const a = document.querySelectorAll('[data-testid=answer]'); "
        "return a.length >= n && a[n - 1].dataset.state !== 'streaming'; }",
        count,
        timeout_s,
    )
    assert answer.get_attribute("data-state") == state, answer.inner_text()
    return answer


def chat_bodies(tab: Any) -> list[dict[str, Any]]:
    return [
        json.loads(request.post_data)
        for request in tab.requests
        if request.method == "POST" and request.url.endswith("/v1/chat/completions")
    ]


def set_settings(tab: Any, temperature: str = "0", max_tokens: str = "12") -> None:
    open_settings(tab)
    tab.get_by_label("Temperature").fill(temperature)
    tab.get_by_label("Max tokens").fill(max_tokens)


def write_file(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def test_the_page_is_at_the_root_of_the_app_under_its_prefix(app: dict[str, Any]) -> None:
    with urllib.request.urlopen(f"{app['origin']}{PREFIX}") as response:  # no slash: redirected to one
        assert response.url == app["url"] and response.status == 200
        assert "connect-src 'self'" in response.headers["content-security-policy"]
        assert 'data-testid="prompt"' in response.read().decode()
    with pytest.raises(urllib.error.HTTPError) as denied:  # the page is open, the API is not
        urllib.request.urlopen(f"{app['url']}v1/models")
    assert denied.value.code == 401


def test_a_three_turn_conversation_about_an_image_streams_and_sends_its_history(
    app: dict[str, Any], page: Any, tmp_path: Path
) -> None:
    set_settings(page)
    assert page.get_by_label("Model").input_value() == "tiny"
    page.get_by_test_id("image-input").set_input_files(
        write_file(tmp_path, "figure.png", png_bytes((64, 48)))
    )
    page.wait_for_selector("[data-testid=attachment] img")
    page.get_by_test_id("prompt").fill("What does the figure show?")
    page.get_by_test_id("prompt").press("Enter")
    first = wait_answer(page, 1)
    assert page.locator("[data-testid=question] img").count() == 1  # the image is shown in the turn
    assert page.locator("[data-testid=attachment]").count() == 0  # and left the composer

    # Shift+Enter is a new line, not a send
    page.get_by_test_id("prompt").fill("And the")
    page.get_by_test_id("prompt").press("Shift+Enter")
    page.get_by_test_id("prompt").type("units?")
    assert page.get_by_test_id("prompt").input_value() == "And the\nunits?"
    assert answers(page).count() == 1
    page.get_by_test_id("send").click()
    wait_answer(page, 2)
    page.get_by_test_id("prompt").fill("Summarise in one line.")
    page.get_by_test_id("send").click()
    wait_answer(page, 3)

    states = page.evaluate("window.__states")
    assert states == ["streaming", "done"] * 3
    first_body, second_body, third_body = chat_bodies(page)
    assert first_body["stream"] is True and first_body["temperature"] == 0 and first_body["max_tokens"] == 12
    assert [message["role"] for message in third_body["messages"]] == ["user", "assistant"] * 2 + ["user"]
    assert third_body["messages"][0]["content"][0]["type"] == "image_url"
    assert third_body["messages"][2]["content"] == "And the\nunits?"
    # what the page sends back as history is exactly what was streamed to it
    replay = app["client"].chat.completions.create(
        model="tiny", messages=first_body["messages"], temperature=0, max_tokens=12
    )
    assert third_body["messages"][1]["content"] == replay.choices[0].message.content
    assert "tokens" in first.get_by_test_id("answer-meta").inner_text()

    page.locator("#settings summary").click()  # settings closed, for the picture
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "chat-page.png"))

    # copy puts the answer on the clipboard; a new chat sends no history
    answers(page).nth(2).get_by_test_id("copy").click()
    third_replay = app["client"].chat.completions.create(
        model="tiny", messages=third_body["messages"], temperature=0, max_tokens=12
    )
    assert page.evaluate("navigator.clipboard.readText()") == third_replay.choices[0].message.content
    page.get_by_test_id("new-chat").click()
    assert answers(page).count() == 0
    page.get_by_test_id("prompt").fill("Hello")
    page.get_by_test_id("prompt").press("Enter")
    wait_answer(page, 1)
    assert len(chat_bodies(page)[-1]["messages"]) == 1


def test_speech_uploaded_or_recorded_is_transcribed_shown_and_answered(page: Any, tmp_path: Path) -> None:
    set_settings(page)
    uploads = [
        ("question.wav", wav_bytes(1.5)),
        ("question.webm", encoded("libopus", "webm", seconds=1.5)),
        ("question.ogg", encoded("libopus", "ogg", seconds=1.5)),
    ]
    for count, (name, data) in enumerate(uploads, start=1):
        page.get_by_test_id("audio-input").set_input_files(write_file(tmp_path, name, data))
        wait_answer(page, count)
        transcript = page.get_by_test_id("transcript").nth(count - 1).inner_text()
        assert transcript.strip(), name
        assert chat_bodies(page)[-1]["messages"][-1]["content"] == transcript
    # the microphone (Chromium's fake device) through MediaRecorder, as a person records
    page.get_by_test_id("record").click()
    wait_until(
        page, "() => document.querySelector('[data-testid=record]').getAttribute('aria-pressed') === 'true'"
    )
    time.sleep(1.5)
    page.get_by_test_id("record").click()
    wait_answer(page, 4)
    assert page.get_by_test_id("transcript").count() == 4
    recorded = [r for r in page.requests if r.url.endswith("/v1/audio/transcriptions")][-1]
    assert recorded.headers["content-type"].startswith("multipart/form-data")  # an upload, like a file
    # audio over the server's 5 s limit: a readable message, nothing sent to the model
    page.get_by_test_id("audio-input").set_input_files(
        write_file(tmp_path, "long.wav", wav_bytes(7.0, rate=8000))
    )
    wait_until(page, "() => document.querySelector('#status').textContent.includes('Too large')")
    assert answers(page).count() == 4


def test_errors_are_readable_messages(app: dict[str, Any], page: Any, tmp_path: Path) -> None:
    set_settings(page)
    # an image over the server's pixel limit (600 x 600 > 250 000)
    page.get_by_test_id("image-input").set_input_files(write_file(tmp_path, "big.png", png_bytes((600, 600))))
    page.wait_for_selector("[data-testid=attachment] img")
    page.get_by_test_id("prompt").fill("What is this?")
    page.get_by_test_id("send").click()
    refused = wait_answer(page, 1, state="error")
    assert "Too large" in refused.inner_text() and "pixels" in refused.inner_text()
    # a prompt over the server's limit of 1500 tokens
    page.get_by_test_id("prompt").fill("stress strain " * 1000)
    page.get_by_test_id("send").click()
    too_long = wait_answer(page, 2, state="error")
    assert "too long" in too_long.inner_text()
    # failed turns are not sent as history; retry resends the same question
    page.get_by_test_id("prompt").fill("Hello")
    page.get_by_test_id("send").click()
    wait_answer(page, 3)
    assert len(chat_bodies(page)[-1]["messages"]) == 1
    # a wrong key: the model list and the next message both say what to do
    enter_key(page, "sk-wrong")
    wait_until(page, "() => document.querySelector('#status').textContent.includes('API key')")
    page.get_by_test_id("prompt").fill("Hello again")
    page.get_by_test_id("send").click()
    unauthorised = wait_answer(page, 4, state="error")
    assert "API key" in unauthorised.inner_text()
    assert page.evaluate("sessionStorage.getItem('cephalo.apiKey')") == "sk-wrong"
    assert not [r for r in page.requests if "sk-" in r.url]  # the key never travels in a URL
    enter_key(page, API_KEY)
    answers(page).nth(3).get_by_test_id("regenerate").click()  # Retry
    wait_answer(page, 4)


def test_stop_and_regenerate(page: Any) -> None:
    set_settings(page, temperature="1", max_tokens="64")
    page.get_by_test_id("prompt").fill("Describe the microstructure.")
    # send and stop in one tick: the request is aborted before anything can arrive
    page.evaluate(
        "document.querySelector('[data-testid=send]').click(); document.querySelector('[data-testid=stop]').click()"
    )
    stopped = wait_answer(page, 1)
    assert stopped.get_attribute("data-stopped") == "true"
    assert page.get_by_test_id("stop").is_disabled() and page.get_by_test_id("send").is_enabled()
    stopped.get_by_test_id("regenerate").click()
    again = wait_answer(page, 1)
    assert again.get_attribute("data-stopped") is None
    bodies = chat_bodies(page)
    assert len(bodies) == 2 and bodies[0]["messages"] == bodies[1]["messages"]


def test_nothing_in_an_answer_or_a_question_can_run_script(page: Any) -> None:
    """The page is made to receive a hostile answer by fulfilling its own request (no tiny model can be
    made to say a chosen string); everything else is the real page."""
    hostile = (
        'Look: <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>\n\n'
        "**bold** and `code` and [a link](javascript:window.__xss=3) and [docs](https://example.org/a)\n\n"
        "```python\nprint('<b>not bold</b>')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    events = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"content": hostile[:40]}}]},
        {"choices": [{"index": 0, "delta": {"content": hostile[40:]}, "finish_reason": "stop"}]},
    ]
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    page.route(
        "**/v1/chat/completions",
        lambda route: route.fulfill(status=200, headers={"content-type": "text/event-stream"}, body=body),
    )
    page.get_by_test_id("prompt").fill('<img src=y onerror="window.__xss=4">')
    page.get_by_test_id("send").click()
    answer = wait_answer(page, 1)
    time.sleep(0.3)  # an onerror would have fired by now
    assert page.evaluate("window.__xss") is None
    content = answer.locator(".content")
    assert content.locator("img, script").count() == 0
    assert '<img src=x onerror="window.__xss=1">' in content.inner_text()
    assert page.locator("[data-testid=question] img").count() == 0
    assert '<img src=y onerror="window.__xss=4">' in page.get_by_test_id("question").inner_text()
    assert content.locator("strong").inner_text() == "bold"
    assert content.locator("pre code.language-python").inner_text() == "print('<b>not bold</b>')"
    assert content.locator("table td").all_inner_texts() == ["1", "2"]
    links = content.locator("a")
    assert links.count() == 1 and links.get_attribute("href") == "https://example.org/a"


def test_keyboard_labels_and_a_phone_sized_window(app: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(app["url"])
        for testid in ("model", "prompt", "image-input", "audio-input"):
            assert phone.evaluate(f"document.querySelector('[data-testid={testid}]').labels.length") > 0, (
                testid
            )
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the side
        for testid in ("send", "record", "prompt"):
            box = phone.get_by_test_id(testid).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, testid
            assert box["y"] + box["height"] <= 844, testid
        # keyboard only: Tab reaches every control in order, starting with the model
        reached = []
        for _ in range(14):
            phone.keyboard.press("Tab")
            reached.append(
                phone.evaluate("document.activeElement.dataset.testid || document.activeElement.id")
            )
        for testid in ("model", "new-chat", "prompt", "image-input", "audio-input", "record", "send"):
            assert testid in reached, (testid, reached)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "chat-page-phone.png"))
    finally:
        context.close()


DROP_AND_PASTE = """async ([kind, base64]) => {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], kind + ".png", { type: "image/png" }));
  if (kind === "dropped") {
    const target = document.querySelector("[data-testid=composer]");
    target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  } else {
    const target = document.querySelector("[data-testid=prompt]");
    target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
  }
}"""


def test_images_dropped_or_pasted_are_attached_and_a_busy_server_says_when_to_retry(page: Any) -> None:
    import base64

    png = base64.b64encode(png_bytes((32, 32))).decode()
    page.evaluate(DROP_AND_PASTE, ["dropped", png])
    page.evaluate(DROP_AND_PASTE, ["pasted", png])
    wait_until(page, "() => document.querySelectorAll('[data-testid=attachment] img').length === 2")
    names = page.locator("[data-testid=attachment] img").evaluate_all("images => images.map(i => i.alt)")
    assert names == ["Attached image: dropped.png", "Attached image: pasted.png"]
    page.get_by_role("button", name="Remove dropped.png").click()
    assert page.locator("[data-testid=attachment]").count() == 1
    # a full server (429 with Retry-After), as the API answers it
    busy = {
        "error": {
            "message": "too many requests in flight",
            "type": "rate_limit_error",
            "param": None,
            "code": None,
        }
    }
    page.route(
        "**/v1/chat/completions",
        lambda route: route.fulfill(status=429, headers={"retry-after": "2"}, json=busy),
    )
    page.get_by_test_id("prompt").fill("Which phase is this?")
    page.get_by_test_id("send").click()
    message = wait_answer(page, 1, state="error").inner_text()
    assert "busy" in message and "retry in 2 s" in message
    image_parts = [
        part for part in chat_bodies(page)[-1]["messages"][-1]["content"] if part["type"] == "image_url"
    ]
    assert len(image_parts) == 1 and image_parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
