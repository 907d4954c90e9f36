"""Ray adapter of extraction: reads each listed PDF, parses it in a sandbox, commits the batch.

The stage holds the expensive state (a sandboxed parser child, the storage clients) and turns every
failure into a ledger row with its reason; the decisions live in `document.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from cephalo_ray.extract.document import (
    PARSER_IMPORTS,
    READ_FAILED,
    TOO_LARGE,
    ExtractError,
    ParseOptions,
    doc_id_of,
    extract_document,
)
from cephalo_ray.extract.sandbox import SandboxedFunction
from cephalo_ray.restart import BatchCommitter, RootLayout
from cephalo_ray.rows import (
    STATUS_DUPLICATE,
    STATUS_FAILED,
    STATUS_OK,
    DocumentRow,
    ErrorRow,
    PairRow,
    documents_schema,
    errors_schema,
    pairs_schema,
)
from cephalo_ray.storage import InputFile, Storage

STAGE = "extract"
PAIRS_DIR = "pairs"
ERRORS_DIR = "errors"
DOCUMENTS_DIR = "documents"
# One listed input is the restart unit; its pairs and error row follow it by `source`.
LAYOUT = RootLayout(
    job="extract",
    ledger_dir=DOCUMENTS_DIR,
    key_columns=("source", "size", "mtime_ns"),
    links={PAIRS_DIR: ("source", "source"), ERRORS_DIR: ("source", "source")},
)


class DocumentClaims:
    """First source seen for each doc_id, so the same PDF at two URIs is extracted once.

    Runs as one small Ray actor shared by all extraction actors; seeded from the ledger on restart
    (`known`: doc_id -> source, kept as given, so an Arrow-backed `ColumnLookup` stays Arrow).
    """

    def __init__(self, known: Mapping[str, str]) -> None:
        self.known = known
        self.first_source: dict[str, str] = {}  # claims of this run

    def claim(self, doc_id: str, source: str) -> str:
        """Record `source` as the owner of `doc_id` unless another source was first; return the owner."""
        owner = self.known.get(doc_id)
        if owner is not None:
            return owner
        return self.first_source.setdefault(doc_id, source)


def document_row(item: InputFile, **fields: Any) -> DocumentRow:
    row: DocumentRow = {
        "source": item.uri,
        "size": item.size,
        "mtime_ns": item.mtime_ns,
        "doc_id": None,
        "status": STATUS_OK,
        "error": None,
        "pages": 0,
        "pairs": 0,
        "scanned_pages": 0,
        "repaired": False,
        "seconds": 0.0,
        "title": None,
        "authors": [],
        "year": None,
        "doi": None,
        "licence": None,
    }
    row.update(fields)  # type: ignore[typeddict-item]
    return row


class ExtractStage:
    """`map_batches` callable: one batch of listed inputs in, one summary row per input out.

    Args:
        committer: commits a batch into the output root while this run owns it.
        storage: how to reach the inputs.
        claims: handle of the `DocumentClaims` actor.
        parse_options: what shapes the parse (resolution, caps, detector).
        max_bytes: inputs larger than this are refused as `TooLarge` before download.
        timeout_s, memory_mb: sandbox limits per document.
        parse_function: the importable function that parses one PDF (bytes, source, **options).
    """

    def __init__(
        self,
        committer: BatchCommitter,
        storage: Storage,
        claims: Any,
        parse_options: ParseOptions,
        max_bytes: int,
        timeout_s: float,
        memory_mb: int | None,
        parse_function: Callable[..., Any] = extract_document,
    ) -> None:
        self.committer = committer
        self.storage = storage
        self.claims = claims
        self.parse_options = parse_options.as_keywords()
        self.max_bytes = max_bytes
        self.parse = SandboxedFunction(parse_function, timeout_s, memory_mb, preload=PARSER_IMPORTS)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        columns = batch.to_pydict() if hasattr(batch, "to_pydict") else batch  # Arrow from Ray Data
        items = [
            InputFile(str(uri), size, mtime)
            for uri, size, mtime in zip(columns["uri"], columns["size"], columns["mtime_ns"], strict=True)
        ]
        documents: list[DocumentRow] = []
        pairs: list[PairRow] = []
        errors: list[ErrorRow] = []
        for item in items:
            document, document_pairs, error = self.process(item)
            documents.append(document)
            pairs.extend(document_pairs)
            if error:
                errors.append(error)
        self.commit(items, documents, pairs, errors)
        keys = ("source", "status", "error", "pages", "pairs", "scanned_pages", "seconds")
        return {key: [document[key] for document in documents] for key in keys}  # type: ignore[literal-required]

    def process(self, item: InputFile) -> tuple[DocumentRow, list[PairRow], ErrorRow | None]:
        started = time.perf_counter()
        doc_id = None
        try:
            pdf_bytes = self.read(item)
            doc_id = doc_id_of(pdf_bytes)
            owner = self.claim(doc_id, item.uri)
            if owner != item.uri:
                seconds = time.perf_counter() - started
                return document_row(item, doc_id=doc_id, status=STATUS_DUPLICATE, seconds=seconds), [], None
            result = self.parse(pdf_bytes, item.uri, **self.parse_options)
        except ExtractError as error:
            seconds = time.perf_counter() - started
            document = document_row(
                item, doc_id=doc_id, status=STATUS_FAILED, error=error.kind, seconds=seconds
            )
            return document, [], failure_row(item.uri, doc_id, error.kind, error.message)
        document = document_row(
            item,
            doc_id=doc_id,
            pages=result["pages"],
            pairs=len(result["pairs"]),
            scanned_pages=result["scanned_pages"],
            repaired=result["repaired"],
            seconds=time.perf_counter() - started,
            **result["metadata"],
        )
        return document, result["pairs"], None

    def read(self, item: InputFile) -> bytes:
        if item.size is None:
            raise ExtractError(
                READ_FAILED, "the input does not exist (named by a list file or removed after listing)"
            )
        if item.size > self.max_bytes:
            raise ExtractError(
                TOO_LARGE, f"{item.size} bytes is over the cap of {self.max_bytes} (limits.max_bytes)"
            )
        try:
            pdf_bytes = self.storage.read_bytes(item.uri)
        except OSError as error:
            raise ExtractError(READ_FAILED, f"cannot read: {error}") from None
        if len(pdf_bytes) > self.max_bytes:
            raise ExtractError(
                TOO_LARGE, f"{len(pdf_bytes)} bytes is over the cap of {self.max_bytes} (limits.max_bytes)"
            )
        return pdf_bytes

    def claim(self, doc_id: str, source: str) -> str:
        import ray

        owner: str = ray.get(self.claims.claim.remote(doc_id, source))
        return owner

    def commit(
        self,
        items: list[InputFile],
        documents: list[DocumentRow],
        pairs: list[PairRow],
        errors: list[ErrorRow],
    ) -> None:
        import pyarrow as pa

        data = {
            PAIRS_DIR: pa.Table.from_pylist(list(pairs), schema=pairs_schema()),
            ERRORS_DIR: pa.Table.from_pylist(list(errors), schema=errors_schema()),
        }
        ledger = pa.Table.from_pylist(list(documents), schema=documents_schema())
        self.committer.commit((f"{item.uri}|{item.size}|{item.mtime_ns}" for item in items), data, ledger)

    def __del__(self) -> None:
        self.parse.close()


def failure_row(source: str, doc_id: str | None, kind: str, message: str) -> ErrorRow:
    return {
        "source": source,
        "doc_id": doc_id,
        "pair_id": None,
        "stage": STAGE,
        "error": kind,
        "message": message,
    }
