"""Layouts of South Slavic theses and of policy reports drawn here with pymupdf: the label words
of Croatian, Serbian and Slovene; two pictures side by side under labels with nothing but a
footnote's call after them, as Google Docs sets them; zero-width spaces in the text layer."""

from __future__ import annotations

import pymupdf
import pytest

from cephalo_ray.extract.captions import parse_caption_start
from cephalo_ray.extract.document import without_invisible_characters
from cephalo_ray.extract.gold import same_caption
from tests.unit.extract.test_manual_layouts import photo, prose
from tests.unit.extract.test_regions import extract, iou, prose_pages

A4 = (596, 842)


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        # (a Zagreb engineering thesis; a Novi Sad diploma thesis with no full stop after the number)
        ("Slika 2.1: Slika prikazuje Huygens-Fresnelovo načelo.", "figure", "Figure 2.1"),
        ("Slika 18 ASM dijagram fft2 modula", "figure", "Figure 18"),
        ("Tablica 3.2. Rezultati mjerenja", "table", "Table 3.2"),
        ("Слика 4. Блок дијаграм система", "figure", "Figure 4"),  # Serbian in Cyrillic
        ("Табела 2. Резултати мерења", "table", "Table 2"),
    ],
)
def test_south_slavic_label_words(text: str, kind: str, label: str) -> None:
    parsed = parse_caption_start(text)
    assert parsed is not None and (parsed.kind, parsed.label) == (kind, label)


def test_a_sentence_opening_with_the_word_is_no_caption() -> None:
    assert parse_caption_start("Slika 3 prikazuje raspored modula na pločici.") is None


def test_labels_with_only_a_note_call_after_them_caption_two_pictures_side_by_side() -> None:
    # (a policy report from Google Docs: two screenshots on one row, each over an italic "Figure N"
    # whose only other text is a superscript footnote call, the left one from the margin)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((72, 520),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    left, right = pymupdf.Rect(75, 93, 243, 274), pymupdf.Rect(300, 105, 483, 273)
    photo(page, left)
    photo(page, right, shade=140)
    for x, number, note in ((72, 3, 14), (288, 4, 15)):
        page.insert_text((x, 295.5), f"Figure {number} ", fontsize=12, fontname="heit")
        page.insert_text((x + 47.4, 291), str(note), fontsize=7.2, fontname="heit")
    prose(page, pymupdf.Rect(72, 357, 520, 660), repeats=4)
    pairs = sorted(extract(doc), key=lambda pair: pair["bbox"][0])
    assert [pair["caption"] for pair in pairs] == ["Figure 3 14", "Figure 4 15"]
    assert iou(pairs[0]["bbox"], tuple(left)) > 0.9 and iou(pairs[1]["bbox"], tuple(right)) > 0.9


def test_a_label_from_the_margin_with_words_after_it_still_needs_a_caption_s_form() -> None:
    # (the left label followed by a sentence under the picture: body text citing it)
    doc = pymupdf.open()
    prose_pages(doc, 2, size=A4, columns=((72, 520),), top=72, bottom=770, repeats=24, fontsize=12)
    page = doc.new_page(width=A4[0], height=A4[1])
    photo(page, pymupdf.Rect(75, 93, 243, 274))
    page.insert_text((72, 295.5), "Figure 3 shows the old plan.", fontsize=12, fontname="tiro")
    prose(page, pymupdf.Rect(72, 357, 520, 660), repeats=4)
    assert extract(doc) == []


def test_zero_width_spaces_print_nothing_in_lines_or_in_judged_captions() -> None:
    span = {"text": "Figure 3 \u200b", "size": 12.0}
    blocks = [
        {"type": 0, "lines": [{"spans": [span, {"text": "\u200b\ufeff", "size": 10.0}]}]},
        {"type": 1, "bbox": (0, 0, 1, 1)},
    ]
    cleaned = without_invisible_characters(blocks)
    assert [item["text"] for item in cleaned[0]["lines"][0]["spans"]] == ["Figure 3 ", ""]
    assert cleaned[1] == blocks[1] and span["text"] == "Figure 3 \u200b"  # (the input is left as it was)
    # (gold copied from a text layer that holds them and gold typed without them are one caption)
    assert same_caption("Figure 1. TIR\u200bFM assays", "Figure 1. TIRFM assays")
    assert not same_caption("Figure 1. TIR FM assays", "Figure 1. TIRFM assays")
