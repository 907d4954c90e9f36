"""Images of chat requests: data URLs, and `s3://` / `http(s)` URLs only from a configured allow-list.

The server never contacts a host that is not allowed: the URL is checked before any request. Sizes
are checked twice: the encoded bytes, and the pixel count read from the image header before the
pixels are decoded, so a decompression bomb is refused without being expanded.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from cephalo_ray.serve.protocol import ApiError


@dataclass(frozen=True)
class ImageLimits:
    max_image_bytes: int = 20 * 1024**2
    max_image_pixels: int = 40_000_000
    allowed_url_prefixes: Sequence[str] = ()  # e.g. "s3://lab-figures/", "https://images.example.org/"
    s3_endpoint_url: str | None = None
    fetch_timeout_s: float = 10.0


def url_allowed(url: str, prefixes: Sequence[str]) -> bool:
    """True when `url` starts with an allowed prefix (scheme and host compared case-insensitively)."""
    parsed = urlparse(url)
    normalized = f"{parsed.scheme.lower()}://{parsed.netloc.lower()}{parsed.path}"
    for prefix in prefixes:
        allowed = urlparse(prefix)
        if (allowed.scheme.lower(), allowed.netloc.lower()) != (parsed.scheme.lower(), parsed.netloc.lower()):
            continue
        if normalized.startswith(f"{allowed.scheme.lower()}://{allowed.netloc.lower()}{allowed.path}"):
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
    return fetch(url, limits)


def fetch(url: str, limits: ImageLimits) -> bytes:
    """Read an allowed URL, never more than the byte limit."""
    if url.startswith("s3://"):
        from cephalo_ray.storage import Storage

        storage = Storage(limits.s3_endpoint_url)
        data = storage.read_bytes(url)
    else:
        import urllib.request

        with urllib.request.urlopen(url, timeout=limits.fetch_timeout_s) as response:  # noqa: S310 (allow-listed)
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
    try:
        return image.convert("RGB")
    except (OSError, Image.DecompressionBombError):
        raise ApiError(400, "image could not be decoded", param="messages") from None
