"""Row schemas: the TypedDicts that flow through Ray Data and the Arrow schemas of every Parquet output."""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict

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
    caption_bbox: list[float] | None  # the caption's box on `caption_page`, for review tools
    caption_page: int | None


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
    # what the document states about itself (extract/metadata.py); None where it states nothing
    title: str | None
    authors: list[str]
    year: int | None
    doi: str | None
    licence: str | None


class ErrorRow(TypedDict):
    """One input (or record) that produced nothing, with its reason (`OUT/errors/`)."""

    source: str
    doc_id: str | None
    pair_id: str | None
    # the ledger key of the one item it stands for where source or pair_id name several (caption:
    # an image's answer to one prompt); absent (null) elsewhere and in rows written before it
    key: NotRequired[str | None]
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
            ("caption_bbox", pa.list_(pa.float64(), 4)),
            ("caption_page", pa.int32()),
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
            ("title", pa.string()),
            ("authors", pa.list_(pa.string())),
            ("year", pa.int32()),
            ("doi", pa.string()),
            ("licence", pa.string()),
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
            ("key", pa.string()),  # last: files written before it lack it, and read as null
        ]
    )


class QAItem(TypedDict):
    kind: str
    query: str
    answer: str


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class RefinedRow(TypedDict):
    """One pair turned into instruction data (`OUT/refined/`)."""

    pair_id: str
    doc_id: str
    split: str
    kind: str
    label: str | None
    image: bytes
    orig_caption: str | None
    pdf_name: str
    qa: list[QAItem]
    conversations: list[dict[str, str]]
    teacher: str
    model: str
    prompt_version: str
    cache_key: str
    usage: Usage
    dropped: list[str]
    figure_type: str  # plot, micrograph, diagram, table or other (refine/figure_types.py)
    # provenance, from the extract root: where the figure is, and what its document states
    source: str
    page: int | None
    title: str | None
    authors: list[str]
    year: int | None
    doi: str | None
    licence: str | None


class RefineLedgerRow(TypedDict):
    """One pair answered for good, ok or failed (`OUT/done/`, the refine restart ledger)."""

    pair_id: str
    cache_key: str
    status: str
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    seconds: float


def usage_type() -> pa.DataType:
    import pyarrow as pa

    return pa.struct(
        [("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("cost_usd", pa.float64())]
    )


def refined_schema() -> pa.Schema:
    import pyarrow as pa

    qa_item = pa.struct([("kind", pa.string()), ("query", pa.string()), ("answer", pa.string())])
    turn = pa.struct([("from", pa.string()), ("value", pa.string())])
    return pa.schema(
        [
            ("pair_id", pa.string()),
            ("doc_id", pa.string()),
            ("split", pa.string()),
            ("kind", pa.string()),
            ("label", pa.string()),
            ("image", pa.binary()),
            ("orig_caption", pa.string()),
            ("pdf_name", pa.string()),
            ("qa", pa.list_(qa_item)),
            ("conversations", pa.list_(turn)),
            ("teacher", pa.string()),
            ("model", pa.string()),
            ("prompt_version", pa.string()),
            ("cache_key", pa.string()),
            ("usage", usage_type()),
            ("dropped", pa.list_(pa.string())),
            ("figure_type", pa.string()),
            ("source", pa.string()),
            ("page", pa.int32()),
            ("title", pa.string()),
            ("authors", pa.list_(pa.string())),
            ("year", pa.int32()),
            ("doi", pa.string()),
            ("licence", pa.string()),
        ]
    )


class TeacherReplyRow(TypedDict):
    """A teacher's raw reply to one pair's request (`OUT/replies/`): kept so that parsing and filters
    can be run again over it (`cephalo refine --refilter`) without paying for it twice."""

    pair_id: str
    cache_key: str
    text: str | None
    finish_reason: str | None
    refusal: str | None
    judge_text: str | None  # the judge's scores of the QA in `text`, when a judge was asked
    prompt_tokens: int  # teacher and judge together
    completion_tokens: int
    cost_usd: float


def replies_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("pair_id", pa.string()),
            ("cache_key", pa.string()),
            ("text", pa.string()),
            ("finish_reason", pa.string()),
            ("refusal", pa.string()),
            ("judge_text", pa.string()),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
            ("cost_usd", pa.float64()),
        ]
    )


def refine_ledger_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("pair_id", pa.string()),
            ("cache_key", pa.string()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
            ("cost_usd", pa.float64()),
            ("seconds", pa.float64()),
        ]
    )
