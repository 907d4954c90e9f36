"""Who published a document, when, under which licence: title, authors, year, DOI and licence from
what a PDF states about itself (the info dictionary, XMP) and what its first page says.

Everything is optional: a field the document does not state is None, never a guess dressed as a
fact. The info dictionary is often junk ("Microsoft Word - draft3.docx", "user"), so titles and
authors from it are kept only when they look like titles and names.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any, TypedDict

DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>,;{}]+)", re.IGNORECASE)
DOI_TRAILING = ".)]}”’:"
YEAR = r"((?:19[5-9]|20[0-4])\d)"
PUBLISHED_YEAR = re.compile(
    rf"(?:©|\(c\)|copyright|published(?: online)?:?|accepted:?|received:?)[^\n]{{0,40}}?\b{YEAR}\b",
    re.IGNORECASE,
)
CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.IGNORECASE)
CC_CODE = re.compile(r"\bCC[\s-]?(BY(?:[\s-](?:NC|ND|SA)){0,2}|0)(?:[\s-](\d\.\d))?\b")
CC_WORDS = re.compile(
    r"Creative\s+Commons\s+(Attribution(?:[\s-]+(?:Non-?Commercial|No-?Derivatives?|No-?Derivs|Share-?Alike))*)"
    r"(?:\s+(?:\d\.\d\s+)?(?:International|Generic|Unported)?\s*(?:License|Licence)?\s*\(?CC[^)]*\)?)?"
    r"(?:[^\n]{0,30}?(\d\.\d))?",
    re.IGNORECASE,
)
JUNK_TITLE = re.compile(
    r"^(microsoft\s+(word|powerpoint)|untitled|document\d*$|\S+\.(docx?|tex|pdf|dvi|indd|qxd)\b|slide\s*\d)"
    r"|\b\d+\.\.\d+$",  # a typesetter's job name: "pone.0115884 1..14"
    re.IGNORECASE,
)
JUNK_AUTHOR = re.compile(r"^(user|admin|administrator|owner|author|unknown|\W*)$|published by", re.IGNORECASE)


class DocumentMetadata(TypedDict):
    title: str | None
    authors: list[str]
    year: int | None
    doi: str | None
    licence: str | None


def document_metadata(doc: Any) -> DocumentMetadata:
    """What an open pymupdf document states about itself."""
    # A repaired (truncated, damaged) file may fail on any of these: what cannot be read is absent;
    # metadata never fails a document.
    info = {key: str(value or "") for key, value in (readable(lambda: doc.metadata) or {}).items()}
    xmp = readable(doc.get_xml_metadata) or ""
    first_page = readable(lambda: doc.load_page(0)) if doc.page_count else None
    first_text = readable(first_page.get_text) or "" if first_page is not None else ""
    last_text = (
        readable(lambda: doc.load_page(doc.page_count - 1).get_text()) or "" if doc.page_count > 1 else ""
    )
    stated = " ".join([*info.values(), xmp])
    return {
        "title": title_of(info.get("title", ""), xmp_items(xmp, "dc:title"), first_page)
        if first_text or info
        else None,
        "authors": authors_of(info.get("author", ""), xmp_items(xmp, "dc:creator")),
        "year": year_of(first_text, xmp, info.get("creationDate", "")),
        "doi": doi_of(xmp_tag(xmp, "prism:doi"), xmp_tag(xmp, "pdfx:doi"), stated, first_text),
        "licence": licence_of(xmp, first_text, last_text),
    }


def readable(read: Any) -> Any:
    """`read()`, or None when the document cannot give it."""
    try:
        return read()
    except Exception:  # pymupdf raises its own error classes for damaged files
        return None


def xmp_items(xmp: str, tag: str) -> list[str]:
    """The `rdf:li` values (or the plain text) of one XMP element."""
    match = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", xmp, re.DOTALL)
    if not match:
        return []
    items = re.findall(r"<rdf:li\b[^>]*>(.*?)</rdf:li>", match.group(1), re.DOTALL) or [match.group(1)]
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items if item.strip()]


def xmp_tag(xmp: str, tag: str) -> str:
    found = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", xmp, re.DOTALL) or re.search(
        rf'\b{tag}="([^"]*)"', xmp
    )
    return html.unescape(found.group(1)).strip() if found else ""


def title_of(info_title: str, xmp_titles: list[str], first_page: Any) -> str | None:
    for stated in (info_title, *xmp_titles):
        title = plausible_title(stated)
        if title:
            return title
    return title_on_page(first_page) if first_page is not None else None


def plausible_title(text: str) -> str | None:
    text = " ".join(text.split())
    words = re.findall(r"[A-Za-zÀ-ÿ]{2,}", text)
    if len(text) < 12 or len(words) < 3 or " " not in text or JUNK_TITLE.search(text):
        return None
    return text[:300]


def title_on_page(page: Any) -> str | None:
    """The largest-type text in the top half of the first page (where titles are set)."""
    spans = []
    layout = readable(lambda: page.get_text("dict")) or {}
    for block in layout.get("blocks", []):
        for line in block.get("lines", []):
            for span in line.get("spans", []):
                text = span.get("text", "").strip()
                if text and span["bbox"][1] < page.rect.height / 2:
                    spans.append((round(span.get("size", 0.0), 1), span["bbox"][1], text))
    if not spans:
        return None
    largest = max(size for size, _, _ in spans)
    if largest < 11:  # no display type: body text is not a title
        return None
    words = [text for size, _, text in sorted(spans, key=lambda span: span[1]) if size >= largest - 0.5]
    return plausible_title(" ".join(words))


def authors_of(info_author: str, xmp_creators: list[str]) -> list[str]:
    names = xmp_creators or re.split(r"\s*(?:;|,\s*(?=[A-Z][a-z]+\s)|\band\b)\s*", info_author)
    return [" ".join(name.split()) for name in names if name.strip() and not JUNK_AUTHOR.search(name.strip())]


def doi_of(*texts: str) -> str | None:
    for text in texts:
        match = DOI.search(text or "")
        if match:
            return match.group(1).rstrip(DOI_TRAILING)
    return None


def year_of(first_text: str, xmp: str, creation_date: str) -> int | None:
    """The publication year the first page states, else XMP's cover or creation date, else the PDF's."""
    stated = PUBLISHED_YEAR.search(first_text)
    if stated:
        return int(stated.group(1))
    for tag in ("prism:coverDate", "prism:publicationDate", "xmp:CreateDate"):
        found = re.match(YEAR, xmp_tag(xmp, tag))
        if found:
            return int(found.group(1))
    found = re.match(rf"D:{YEAR}", creation_date)
    return int(found.group(1)) if found else None


def licence_of(*texts: str) -> str | None:
    """An SPDX-style Creative Commons identifier ("CC-BY-4.0", "CC-BY-NC-ND-4.0", "CC0-1.0")."""
    for text in texts:
        url = CC_URL.search(text or "")
        if url:
            kind, code, version = url.groups()
            return f"CC0-{version}" if kind.lower() == "publicdomain" else f"CC-{code.upper()}-{version}"
    for text in texts:
        code = CC_CODE.search(text or "")
        if code:
            name = "CC" + ("0" if code.group(1) == "0" else "-" + re.sub(r"[\s-]+", "-", code.group(1)))
            return f"{name}-{code.group(2)}" if code.group(2) else name
        words = CC_WORDS.search(text or "")
        if words:
            return (
                "CC-"
                + "-".join(licence_parts(words.group(1)))
                + (f"-{words.group(2)}" if words.group(2) else "")
            )
    return None


def licence_parts(words: str) -> Iterable[str]:
    lowered = words.lower().replace("-", "")
    yield "BY"
    if "noncommercial" in lowered:
        yield "NC"
    if "noderiv" in lowered:
        yield "ND"
    if "sharealike" in lowered:
        yield "SA"
