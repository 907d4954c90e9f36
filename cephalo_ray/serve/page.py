"""The chat page: static HTML, CSS and JavaScript shipped in the package (`serve/page/`), served at
`/` of the same app as `/v1`, so it works wherever the API does (a laptop, the cluster's proxy,
KubeRay) with no second server and nothing fetched from elsewhere.

The page's Content-Security-Policy allows scripts, styles and requests from its own origin only, so
no request can leave it and nothing in a model's answer can run as script even if it were parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "microphone=(self), camera=(), geolocation=()",
    # the page is small; revalidating keeps it in step with the server after an upgrade
    "cache-control": "no-cache",
}


@dataclass(frozen=True)
class PageAsset:
    body: bytes
    content_type: str


def asset_names() -> list[str]:
    """The files the page is made of (what `/page/<name>` serves)."""
    folder = resources.files("cephalo_ray.serve") / "page"
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(tuple(CONTENT_TYPES)))


def page_asset(name: str) -> PageAsset | None:
    """One of the page's files by its bare name, or None for anything else (paths never resolve)."""
    if name not in asset_names():
        return None
    suffix = name[name.rfind(".") :]
    body = (resources.files("cephalo_ray.serve") / "page" / name).read_bytes()
    return PageAsset(body, CONTENT_TYPES[suffix])
