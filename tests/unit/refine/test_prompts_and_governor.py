from __future__ import annotations

import base64
import io

from PIL import Image

from cephalo_ray.refine.governor import HELD, OVER, WAIT, Governor, Price
from cephalo_ray.refine.prompts import (
    PROMPT_VERSION,
    build_messages,
    cache_key,
    estimate_tokens,
    image_data_url,
    response_schema,
    template_qa,
)
from cephalo_ray.samples import gradient_png


def test_messages_carry_caption_mentions_and_optional_image() -> None:
    messages = build_messages("Figure 1", "Figure 1. Silk.", ["Fig. 1 shows silk."], 3)
    assert messages[0]["role"] == "system" and "Silk." in messages[1]["content"]
    assert "Fig. 1 shows silk." in messages[1]["content"] and "Write 3" in messages[1]["content"]
    url = image_data_url(gradient_png(1200, 300, 1), max_side=400)
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.size == (400, 100)
    with_image = build_messages("Figure 1", "Figure 1. Silk.", [], 2, url)
    assert with_image[1]["content"][0] == {"type": "image_url", "image_url": {"url": url}}
    assert estimate_tokens(with_image) > estimate_tokens(messages[:1]) + 700
    assert response_schema(3)["properties"]["qa"]["maxItems"] == 3


def test_cache_key_moves_with_every_input_that_shapes_the_answer() -> None:
    base = dict(
        caption="c", mentions=["m"], image=b"png", model="gpt-4o", sampling={"temperature": 0.2}, vision=False
    )
    key = cache_key(**base)
    assert key == cache_key(**base)
    for change in (
        {"caption": "c2"},
        {"mentions": []},
        {"image": b"png2"},
        {"model": "other"},
        {"sampling": {"temperature": 0.3}},
        {"vision": True},
        {"prompt_version": PROMPT_VERSION + "x"},
    ):
        assert cache_key(**{**base, **change}) != key, change


def test_template_teacher_is_deterministic_and_grounded() -> None:
    qa = template_qa(
        "Figure 2", "Figure 2. Nacre tablets. Bridges join them.", ["Fig. 2 shows nacre.", "See Fig. 2b."], 4
    )
    assert qa == template_qa(
        "Figure 2", "Figure 2. Nacre tablets. Bridges join them.", ["Fig. 2 shows nacre.", "See Fig. 2b."], 4
    )
    assert qa[0] == {
        "kind": "what",
        "query": "What does this figure show?",
        "answer": "Nacre tablets. Bridges join them.",
    }
    assert len(qa) == 4 and len({item["query"] for item in qa}) == 4
    assert template_qa(None, None, [], 4) == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_governor_paces_requests_and_tokens_without_burst() -> None:
    clock = FakeClock()
    governor = Governor(requests_per_minute=120, clock=clock)
    assert [governor.reserve(10) for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]
    clock.now += 10
    assert governor.reserve(10) == 0.0
    tokens = Governor(tokens_per_minute=600, clock=clock)  # 10 tokens a second
    assert tokens.reserve(50) == 0.0 and tokens.reserve(50) == 5.0


def test_governor_limit_and_budget() -> None:
    governor = Governor(limit=2)
    assert [governor.admit() for _ in range(3)] == [True, True, False]
    assert "limit 2" in str(governor.state()["stop_reason"])
    budget = Governor(max_cost_usd=0.02)
    price = Price(input_usd_per_mtok=1000.0)
    admitted = 0
    while budget.admit():
        admitted += 1
        budget.record(price.cost(10, 0))
    assert admitted == 2 and budget.state()["spent_usd"] == 0.02


def test_requests_in_flight_cannot_overshoot_the_budget() -> None:
    """Eight requests start at once under a budget for two: worst cases are held, so two go, the
    others wait for them instead of giving up; the run stops when the spend alone leaves no room."""
    budget = Governor(max_cost_usd=0.002)
    worst_case = Price(input_usd_per_mtok=10.0, output_usd_per_mtok=10.0).cost(50, 50)  # $0.001
    started = [budget.admit() and budget.hold(worst_case) for _ in range(8)]  # all in flight together
    assert started == [HELD, HELD] + [WAIT] * 6
    for _ in range(2):
        budget.record(worst_case * 0.6, worst_case)  # the real replies cost less than the worst case
    assert float(budget.state()["spent_usd"]) <= 0.002  # type: ignore[arg-type]
    assert budget.hold(worst_case * 0.5) == HELD  # what was not spent is free again
    assert budget.hold(worst_case) == OVER and "could cost" in str(budget.state()["stop_reason"])
    assert budget.start(worst_case * 0.4, 10) == (WAIT, 0.0)  # fits once the held half settles
    budget.record(worst_case * 0.2, worst_case * 0.5)
    assert budget.start(worst_case * 0.4, 10) == (HELD, 0.0)
