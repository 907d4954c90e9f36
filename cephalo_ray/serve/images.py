"""Images of chat requests: data URLs, and `s3://` / `http(s)` URLs only from a configured allow-list.

The server never contacts a host that is not allowed: the URL is normalised (`..`, `%2e%2e`, `//`)
and checked before any request, and redirects are not followed (an allowed host that answers 302
cannot send the server elsewhere). A fetch that fails is the client's 400, never a 500. Sizes are
checked twice: the encoded bytes, and the pixel count and aspect ratio read from the image header
before the pixels are decoded, so a decompression bomb or a 1x200000 strip is refused unexpanded.
What the processor then makes of an image needs no limit of its own here: its config caps the
resized pixels (tiles, grid pinpoints, `max_pixels`), and the engine's context check counts the
image tokens they become before the request joins a batch (`limits.max_prompt_tokens`).
"""

from __future__ import annotations

import base64
import binascii
import io
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlparse

from cephalo_ray.serve.protocol import ApiError

PATH_SAFE = "!$&'()*+,;=:@-._~"  # the characters a path segment may hold unescaped (RFC 3986)


@dataclass(frozen=True)
class ImageLimits:
    max_image_bytes: int = 20 * 1024**2
    max_image_pixels: int = 40_000_000
    allowed_url_prefixes: Sequence[str] = ()  # e.g. "s3://lab-figures/", "https://images.example.org/"
    s3_endpoint_url: str | None = None
    fetch_timeout_s: float = 10.0
    max_images: int = 8
    max_aspect_ratio: float = 20.0


def normalized_url(url: str) -> str | None:
    """`scheme://host/path` with percent-escapes decoded and `.`/`..`/empty segments resolved; None for
    a URL that climbs above its root, carries credentials or control characters."""
    parsed = urlparse(url)
    if parsed.username or parsed.password or any(ord(character) < 32 for character in url):
        return None
    segments: list[str] = []
    for segment in unquote(parsed.path).split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                return None
            segments.pop()
            continue
        segments.append(quote(segment, safe=PATH_SAFE))  # one spelling: compared and fetched alike
    path = "/" + "/".join(segments) + ("/" if parsed.path.endswith("/") and segments else "")
    query = f"?{parsed.query}" if parsed.query else ""
    return f"{parsed.scheme.lower()}://{parsed.netloc.lower()}{path}{query}"


def url_allowed(url: str, prefixes: Sequence[str]) -> bool:
    """True when the normalised `url` starts with an allowed prefix on a path-segment boundary."""
    normalized = normalized_url(url)
    if normalized is None:
        return False
    for prefix in prefixes:
        allowed = normalized_url(prefix)
        if allowed is None:
            continue
        base = allowed if allowed.endswith("/") else allowed + "/"
        if normalized == allowed.rstrip("/") or normalized.startswith(base):
            return True
    return False


def image_bytes(url: str, limits: ImageLimits) -> bytes:
    """The encoded bytes behind an image URL.

    Raises:
        ApiError: 400 for a malformed or disallowed URL, 413 for an oversize image.
    """
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if ";base64" not in header or not payload:
            raise ApiError(400, "image data URLs must be base64: data:image/png;base64,...", param="messages")
        if len(payload) * 3 // 4 > limits.max_image_bytes:
            raise ApiError(413, f"image is larger than {limits.max_image_bytes} bytes", param="messages")
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "image data URL is not valid base64", param="messages") from None
    scheme = urlparse(url).scheme.lower()
    if scheme not in ("s3", "http", "https"):
        raise ApiError(400, f"image URL scheme {scheme or '(none)'!r} is not supported", param="messages")
    if not url_allowed(url, limits.allowed_url_prefixes):
        raise ApiError(
            400,
            "image URL is not on this server's allow-list; send the image as a data URL",
            param="messages",
            code="url_not_allowed",
        )
    normalized = normalized_url(url)
    assert normalized is not None  # url_allowed refused the others
    try:
        return fetch(normalized, limits)
    except ApiError:
        raise
    except Exception as error:  # unreachable, 404, a redirect: the same answer, and no detail about the host
        raise ApiError(
            400, "the image URL could not be fetched", param="messages", code="image_fetch_failed"
        ) from error


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: its target was never checked against the allow-list."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise urllib.error.HTTPError(req.full_url, code, "redirects are not followed", headers, fp)


def fetch(url: str, limits: ImageLimits) -> bytes:
    """Read an allowed URL, never more than the byte limit and never through a redirect."""
    if url.startswith("s3://"):
        from cephalo_ray.storage import Storage

        storage = Storage(limits.s3_endpoint_url)
        data = storage.read_bytes(url)
    else:
        opener = urllib.request.build_opener(NoRedirects)
        with opener.open(url, timeout=limits.fetch_timeout_s) as response:
            data = response.read(limits.max_image_bytes + 1)
    if len(data) > limits.max_image_bytes:
        raise ApiError(413, f"image is larger than {limits.max_image_bytes} bytes", param="messages")
    return data


def decode_image(data: bytes, limits: ImageLimits) -> Any:
    """A PIL RGB image, after checking its pixel count from the header.

    Raises:
        ApiError: 400 for bytes that are not an image, 413 for too many pixels.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:
        raise ApiError(413, "image has too many pixels", param="messages") from None
    except (UnidentifiedImageError, OSError):
        raise ApiError(
            400, "image could not be decoded (PNG, JPEG, WebP, GIF...)", param="messages"
        ) from None
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise ApiError(
            413,
            f"image has {width}x{height} pixels, more than the limit of {limits.max_image_pixels}",
            param="messages",
        )
    if max(width, height) > limits.max_aspect_ratio * max(1, min(width, height)):
        raise ApiError(
            400,
            f"image is {width}x{height}: sides further apart than {limits.max_aspect_ratio:g} to 1",
            param="messages",
        )
    try:
        return image.convert("RGB")
    except (OSError, Image.DecompressionBombError):
        raise ApiError(400, "image could not be decoded", param="messages") from None
