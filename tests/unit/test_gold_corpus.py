"""Excerpts of the development corpus's long documents: reproducible bytes, whatever the PDF."""

from __future__ import annotations

import pymupdf

from bench.gold.corpus import excerpt


def paper(pages: int, broken_structure_tree: bool = False) -> bytes:
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        doc.new_page().insert_text((72, 72), f"page {number}")
    if broken_structure_tree:
        # as some report generators write it: the catalog's structure tree is a reference to null
        empty = doc.get_new_xref()
        doc.update_object(empty, "null")
        doc.xref_set_key(doc.pdf_catalog(), "StructTreeRoot", f"{empty} 0 R")
    data: bytes = doc.tobytes()
    return data


def test_an_excerpt_holds_its_pages_and_its_bytes_are_the_same_every_time() -> None:
    for source in (paper(6), paper(6, broken_structure_tree=True)):
        cut = excerpt(source, 2, 4)
        assert cut == excerpt(source, 2, 4)
        texts = [page.get_text().strip() for page in pymupdf.open(stream=cut, filetype="pdf")]
        assert texts == ["page 2", "page 3", "page 4"]
