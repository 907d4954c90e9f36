"""What a PDF states about itself: title, authors, year, DOI and licence, from the info dictionary,
XMP and the first page, as publishers write them (and as word processors leave junk)."""

from __future__ import annotations

from typing import Any

import pymupdf
import pytest

from cephalo_ray.extract.metadata import document_metadata, licence_of


def pdf(
    first_page: str, info: dict[str, str] | None = None, xmp: str | None = None, title: str | None = None
) -> Any:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    if title:
        page.insert_textbox(pymupdf.Rect(50, 60, 545, 120), title, fontsize=16, fontname="hebo")
    page.insert_textbox(pymupdf.Rect(50, 700, 545, 800), first_page, fontsize=7)
    doc.new_page(width=595, height=842).insert_text((50, 100), "References", fontsize=10)
    if info:
        doc.set_metadata(info)
    if xmp:
        doc.set_xml_metadata(xmp)
    return pymupdf.open(stream=doc.tobytes())


def test_an_elsevier_style_page_with_a_word_processor_info_dictionary() -> None:
    doc = pdf(
        "Received 3 January 2019; Accepted 14 March 2019. © 2019 The Authors. Published by Elsevier Ltd. "
        "This is an open access article under the CC BY-NC-ND 4.0 license.\nhttps://doi.org/10.1016/j.actbio.2019.03.012.",
        info={
            "title": "Microsoft Word - revised_final3.docx",
            "author": "user",
            "creationDate": "D:20211201",
        },
        title="Silk fibroin scaffolds with aligned pores guide bone ingrowth",
    )
    assert document_metadata(doc) == {
        "title": "Silk fibroin scaffolds with aligned pores guide bone ingrowth",  # the page's, not Word's
        "authors": [],
        "year": 2019,  # what the page says, not when the PDF was written
        "doi": "10.1016/j.actbio.2019.03.012",  # the full stop after it is not part of it
        "licence": "CC-BY-NC-ND-4.0",
    }


def test_xmp_as_springer_and_plos_write_it() -> None:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">'
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Epigenetic modelling of former, current &amp; never smokers</rdf:li></rdf:Alt></dc:title>'
        "<dc:creator><rdf:Seq><rdf:li>Ryan J. Langdon</rdf:li><rdf:li>Paul Yousefi</rdf:li></rdf:Seq></dc:creator>"
        "<prism:doi>10.1186/s13148-021-01191-6</prism:doi><prism:coverDate>2021-11-02</prism:coverDate>"
        "<dc:rights><rdf:Alt><rdf:li>http://creativecommons.org/licenses/by/4.0/</rdf:li></rdf:Alt></dc:rights>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    assert document_metadata(pdf("Clinical Epigenetics", info={"title": "s13148-021-01191-6"}, xmp=xmp)) == {
        "title": "Epigenetic modelling of former, current & never smokers",
        "authors": ["Ryan J. Langdon", "Paul Yousefi"],
        "year": 2021,
        "doi": "10.1186/s13148-021-01191-6",
        "licence": "CC-BY-4.0",
    }


def test_a_document_that_states_nothing_gets_nothing_invented() -> None:
    assert document_metadata(pdf("results were obtained as described in section 2")) == {
        "title": None,
        "authors": [],
        "year": None,
        "doi": None,
        "licence": None,
    }


@pytest.mark.parametrize(
    ("text", "licence"),
    [
        (
            "distributed under the terms of the Creative Commons Attribution 4.0 International License",
            "CC-BY-4.0",
        ),
        ("Creative Commons Attribution-NonCommercial-ShareAlike 3.0 Unported", "CC-BY-NC-SA-3.0"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
        ("licensed under CC-BY", "CC-BY"),
        ("All rights reserved.", None),
    ],
)
def test_licences_are_named_as_spdx_does(text: str, licence: str | None) -> None:
    assert licence_of(text) == licence
