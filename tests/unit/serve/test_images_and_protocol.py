"""Request images and protocol shapes: data URLs, the URL allow-list, pixel limits, error bodies."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from cephalo_ray.serve.images import ImageLimits, decode_image, image_bytes, url_allowed
from cephalo_ray.serve.protocol import ApiError, ChatRequest, chat_completion


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_allow_list_matches_scheme_host_and_path_prefix() -> None:
    prefixes = ["https://figures.example.org/lab/", "s3://lab-figures/"]
    assert url_allowed("https://FIGURES.example.org/lab/a.png", prefixes)
    assert url_allowed("s3://lab-figures/run1/fig.png", prefixes)
    assert not url_allowed("https://figures.example.org/other/a.png", prefixes)
    assert not url_allowed("https://figures.example.org.evil.com/lab/a.png", prefixes)
    assert not url_allowed("http://figures.example.org/lab/a.png", prefixes)  # scheme differs
    assert not url_allowed("s3://lab-figures-private/x.png", prefixes)


def test_data_urls_decode_and_bad_ones_are_400() -> None:
    limits = ImageLimits(max_image_pixels=10_000)
    data = png((50, 40))
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert decode_image(image_bytes(url, limits), limits).size == (50, 40)
    for bad in ("data:image/png,rawbytes", "data:image/png;base64,@@@", "ftp://host/x.png"):
        with pytest.raises(ApiError) as error:
            image_bytes(bad, limits)
        assert error.value.status == 400
    with pytest.raises(ApiError) as not_image:
        decode_image(b"definitely not an image", limits)
    assert not_image.value.status == 400


def test_too_many_pixels_and_too_many_bytes_are_413() -> None:
    limits = ImageLimits(max_image_pixels=10_000, max_image_bytes=1_000)
    with pytest.raises(ApiError) as pixels:
        decode_image(png((200, 200)), limits)
    assert pixels.value.status == 413
    big = "data:image/png;base64," + base64.b64encode(b"x" * 5_000).decode()
    with pytest.raises(ApiError) as size:
        image_bytes(big, limits)
    assert size.value.status == 413


def test_request_validation_and_response_shapes() -> None:
    request = ChatRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": "END", "unknown_field": 1}
    )
    assert request.stop_strings() == ["END"] and request.n == 1
    with pytest.raises(ValueError):
        ChatRequest.model_validate({"model": "m", "messages": []})
    with pytest.raises(ValueError):
        ChatRequest.model_validate(
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": list("abcde")}
        )
    body = chat_completion(
        "id1",
        "m",
        [{"text": "ok", "finish_reason": "stop"}],
        {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    )
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "ok", "refusal": None}
    error = ApiError(429, "slow down", "rate_limit_error", retry_after_s=1).body("req-1")
    assert error["error"]["type"] == "rate_limit_error" and "req-1" in error["error"]["message"]
