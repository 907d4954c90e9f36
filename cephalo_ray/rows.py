"""Row schemas: the TypedDicts that flow through Ray Data and the Arrow schemas of every Parquet output."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    import pyarrow as pa


class PairRow(TypedDict):
    """One figure or table with its caption (`OUT/pairs/`)."""

    pair_id: str
    doc_id: str
    source: str
    page: int
    kind: str
    bbox: list[float]
    label: str | None
    caption: str | None
    mentions: list[str]
    image: bytes
    image_width: int
    image_height: int
    graphics: str


class DocumentRow(TypedDict):
    """One input document and what became of it (`OUT/documents/`, the restart ledger)."""

    source: str
    size: int | None
    mtime_ns: int | None
    doc_id: str | None
    status: str
    error: str | None
    pages: int
    pairs: int
    scanned_pages: int
    repaired: bool
    seconds: float


class ErrorRow(TypedDict):
    """One input (or record) that produced nothing, with its reason (`OUT/errors/`)."""

    source: str
    doc_id: str | None
    pair_id: str | None
    stage: str
    error: str
    message: str


# Document outcomes in the ledger. A duplicate is a success whose pairs live under another source.
STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_DUPLICATE = "duplicate"


def pairs_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("pair_id", pa.string()),
            ("doc_id", pa.string()),
            ("source", pa.string()),
            ("page", pa.int32()),
            ("kind", pa.string()),
            ("bbox", pa.list_(pa.float64(), 4)),
            ("label", pa.string()),
            ("caption", pa.string()),
            ("mentions", pa.list_(pa.string())),
            ("image", pa.binary()),
            ("image_width", pa.int32()),
            ("image_height", pa.int32()),
            ("graphics", pa.string()),
        ]
    )


def documents_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("source", pa.string()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("doc_id", pa.string()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("pages", pa.int32()),
            ("pairs", pa.int32()),
            ("scanned_pages", pa.int32()),
            ("repaired", pa.bool_()),
            ("seconds", pa.float64()),
        ]
    )


def errors_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("source", pa.string()),
            ("doc_id", pa.string()),
            ("pair_id", pa.string()),
            ("stage", pa.string()),
            ("error", pa.string()),
            ("message", pa.string()),
        ]
    )
