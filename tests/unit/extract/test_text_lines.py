"""Text lines as the extractor reads them from a PDF page."""

from __future__ import annotations

from dataclasses import replace

import pymupdf

from cephalo_ray.extract.document import printed_span_box, read_text_lines, span_is_inflated


def test_a_symbol_glyph_box_reaching_far_below_its_baseline_is_cut_to_the_printed_size() -> None:
    # as pymupdf reports CMSY10's bullet in a 10 pt caption: 17 pt tall, 10 pt below the baseline
    bullet = {"bbox": (300.0, 466.4, 305.0, 483.7), "size": 9.96, "origin": (300.0, 474.1)}
    word = {"bbox": (120.0, 467.0, 140.0, 476.2), "size": 9.96, "origin": (120.0, 474.1)}
    assert span_is_inflated(bullet) and not span_is_inflated(word)
    cut = printed_span_box(bullet)
    assert 464.0 < cut.y0 < 467.0 and 476.0 < cut.y1 < 477.5
    assert (printed_span_box(word).y0, printed_span_box(word).y1) == (467.0, 476.2)


def test_text_set_vertically_keeps_its_height() -> None:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text(
        (100, 700), "A table turned on its side, its caption running up the page", fontsize=9, rotate=90
    )
    page.insert_text((200, 100), "Horizontal text for comparison", fontsize=9)
    lines = read_text_lines(doc[0])
    vertical = next(item for item in lines if item.text.startswith("A table"))
    horizontal = next(item for item in lines if item.text.startswith("Horizontal"))
    assert vertical.box.height > 200 and horizontal.box.height < 15


def test_bold_faces_are_known_by_their_names_where_the_font_does_not_flag_itself() -> None:
    from cephalo_ray.extract.document import is_bold_font

    bold = ("AdvOT6c1def61.B", "ABCDEF+CMBX9", "SFBX1000", "NimbusRomNo9L-Medi", "Arial,Bold", "Frutiger-Bd")
    regular = ("AdvOT49bbc31f.I", "CMR10", "NimbusRomNo9L-Regu", "Times-Roman", "CMMI10", "MyriadPro-Cond")
    assert all(is_bold_font(name) for name in bold)
    assert not any(is_bold_font(name) for name in regular)


def test_a_document_of_tables_only_measures_its_column_by_its_notes_not_its_cells() -> None:
    from cephalo_ray.extract.geometry import Box, TextLine
    from cephalo_ray.extract.page_text import is_full_prose_line, text_stats

    cells = [
        TextLine(
            Box(72 + 80 * column, 130 + 14 * row, 126 + 80 * column, 142 + 14 * row),
            "-0.994***",
            12.0,
            False,
            2,
        )
        for row in range(20)
        for column in range(5)
    ]
    notes = [
        TextLine(
            Box(72, 350 + 10 * row, 540, 359 + 10 * row),
            "Note: the outcome variable is popular support, estimated",
            9.6,
            False,
            3,
        )
        for row in range(12)
    ]
    stats = text_stats([[*cells, *notes]])
    assert stats.body_size == 12.0 and stats.column_width > 400
    assert not any(is_full_prose_line(cell, stats) for cell in cells)


def test_body_text_running_through_the_paper_outweighs_a_reference_list_in_small_type() -> None:
    from cephalo_ray.extract.geometry import Box, TextLine
    from cephalo_ray.extract.page_text import text_stats

    def page(size: float, count: int) -> list[TextLine]:
        text = "the measured response of the lattice follows the model closely"
        return [
            TextLine(Box(72, 72 + 12 * row, 300, 72 + 12 * row + size), text, size, False, 1)
            for row in range(count)
        ]

    pages = [page(10.0, 14), page(10.0, 14), page(10.0, 14), page(7.0, 60)]  # more characters in 7 pt
    assert text_stats(pages).body_size == 10.0
    one_page = [line for lines in pages for line in lines]
    assert text_stats([one_page]).body_size == 7.0  # (counted as one page, the reference list wins)


def test_a_page_of_chinese_counts_its_characters_as_wide() -> None:
    from cephalo_ray.extract.geometry import Box, TextLine
    from cephalo_ray.extract.page_text import text_stats

    chinese = [
        TextLine(
            Box(72, 72 + 14 * row, 300, 82 + 14 * row), "在传统网络体系架构中标识是连接的基础", 9.5, False, 1
        )
        for row in range(30)
    ]
    english = [
        TextLine(
            Box(72, 500 + 9 * row, 300, 508 + 9 * row), "Zhang, L. Named data networking. ACM", 8.0, False, 2
        )
        for row in range(16)
    ]
    assert text_stats([[*chinese, *english]]).body_size == 9.5


def test_the_column_width_of_a_two_column_paper_is_not_its_one_column_abstracts() -> None:
    from cephalo_ray.extract.geometry import Box, TextLine
    from cephalo_ray.extract.page_text import text_stats

    text = "the measured response of the lattice follows the model closely"

    def rows(x0: float, width: float, count: int) -> list[TextLine]:
        return [
            TextLine(Box(x0, 72 + 12 * row, x0 + width, 82 + 12 * row), text, 10.0, False, 1)
            for row in range(count)
        ]

    first_page = rows(42, 407, 25) + rows(42, 248, 20) + rows(307, 248, 20)
    later_page = rows(42, 248, 55) + rows(307, 248, 55)
    assert abs(text_stats([first_page, later_page]).column_width - 248) < 1
    assert abs(text_stats([rows(42, 407, 60)]).column_width - 407) < 1


def test_a_raised_root_sign_does_not_widen_a_line_set_on_its_side() -> None:
    from cephalo_ray.extract.document import within_words_band
    from cephalo_ray.extract.geometry import Box

    # a caption turned on its side: its words lie in x 82-91, the root sign is raised to x 75
    words = [Box(82.1, 565.0, 90.9, 601.6), Box(82.0, 447.4, 90.9, 452.0), Box(85.6, 434.0, 91.8, 447.4)]
    line = Box(75.0, 330.7, 92.4, 601.6)
    assert within_words_band(line, words) == Box(82.0, 330.7, 91.8, 601.6)


def pdf_without_unicode(lines: list[tuple[float, float, str]]) -> bytes:
    """One page set in a font whose every code maps to a glyph name with no Unicode, as old
    typesetters' fonts did (no ToUnicode; made-up names in the encoding's differences)."""
    names = " ".join(f"/zz{code}q" for code in range(32, 127))
    content = (
        "BT /F1 9 Tf " + " ".join(f"1 0 0 1 {x} {792 - y} Tm ({text}) Tj" for x, y, text in lines) + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        f"/Encoding << /Type /Encoding /Differences [32 {names}] >> >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n" + "".join(
        f"{o:010d} 00000 n \n" for o in offsets
    )
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n"
    return out.encode()


def test_a_page_set_in_a_font_without_unicode_reads_as_its_codes() -> None:
    # a 1998 journal's typesetter: no glyph of the font has a Unicode value, and its codes are the
    # standard encoding's letters
    doc = pymupdf.open(
        stream=pdf_without_unicode(
            [
                (392, 291, "Fig. 1 Crustacean zooplankton density"),
                (392, 301, "(log transformed) in relation to depth"),
            ]
        )
    )
    texts = [line.text for line in read_text_lines(doc[0])]
    assert texts == ["Fig. 1 Crustacean zooplankton density", "(log transformed) in relation to depth"]


def test_a_line_set_in_italics_is_known_by_its_flags_or_its_font_name() -> None:
    from cephalo_ray.extract.document import is_italic_font

    doc = pymupdf.open()
    page = doc.new_page(width=300, height=200)
    page.insert_text((20, 40), "Figure 1. A caption set in italics", fontname="tiit", fontsize=10)
    page.insert_text((20, 80), "Body text set upright in the same size", fontname="tiro", fontsize=10)
    italic, upright = read_text_lines(page)
    assert italic.italic and not upright.italic
    assert all(is_italic_font(name) for name in ("Garamond-BookItalic", "AdvOT49bbc31f.I", "ABCDEF+CMTI10"))
    assert not any(is_italic_font(name) for name in ("CMMI10", "Times-Roman", "NimbusRomNo9L-Medi"))


def test_the_end_of_a_sentence_alone_under_a_displayed_equation_is_prose() -> None:
    from cephalo_ray.extract.geometry import Box, TextLine, TextStats
    from cephalo_ray.extract.page_text import is_body_line

    # a CIGRE paper: "where i denotes ..." closes the sentence the equation interrupted; it is
    # prose that stops a caption's claim, not a label of the chart under it
    stats = TextStats(12.0, 457.3, 0.5)
    closing = TextLine(
        Box(70.6, 494.0, 290.0, 506.0), "where i denotes the critical bus of the VCA.", 12.0, False, 9
    )
    label = TextLine(
        Box(311.5, 561.8, 416.6, 573.8), "Slope at current operating point = SFI", 12.0, False, 10
    )
    assert is_body_line(closing, [closing], stats)
    assert not is_body_line(label, [label], stats)
    assert not is_body_line(replace(closing, text="where i denotes the critical bus"), [closing], stats)


def test_a_diagram_of_labels_set_on_their_side_does_not_turn_a_page_whose_caption_reads_upright() -> None:
    from cephalo_ray.extract.document import page_turn
    from cephalo_ray.extract.geometry import Box, TextLine

    def label(x: float, text: str, turn: int) -> TextLine:
        return TextLine(Box(x, 100.0, x + 8.0, 130.0), text, 6.0, False, 1, turn)

    # a Thieme path diagram: sixty loadings and item numbers written upwards over one upright caption
    loadings = [label(60.0 + 7 * i, f"0,{600 + 7 * i}", 1) for i in range(60)]
    caption = [
        TextLine(Box(53.3, 709.4 + 10 * i, 518.6, 719.3 + 10 * i), text, 8.0, False, 9)
        for i, text in enumerate(
            [
                "Abb. 1 Messmodell der Konfirmatorischen Faktorenanalyse (CFA) für das Modell",
                "der Mutter und des Vaters. Standardisierte Faktorladungen der CFA aller Items",
            ]
        )
    ]
    assert page_turn(loadings + caption) == 0
    # a table printed sideways: its caption and notes run upwards too
    sideways = [replace(line, turn=1) for line in caption]
    assert page_turn(loadings + sideways) == 1
    assert page_turn(loadings) == 1  # no running words at all: the characters decide


def test_code_set_in_a_typewriter_face_is_known_by_its_flags_or_its_font_name() -> None:
    from cephalo_ray.extract.document import is_mono_font

    doc = pymupdf.open()
    page = doc.new_page(width=300, height=200)
    page.insert_text((20, 40), "stats = (5, 50, 'avg', 'max')", fontname="cour", fontsize=10)
    page.insert_text((20, 80), "Body text set in a proportional face", fontname="tiro", fontsize=10)
    code, prose = read_text_lines(page)
    assert code.mono and not prose.mono
    typewriter = (
        "ABCDEF+CMTT10",
        "DejaVuSansMono",
        "SourceCodePro-Regular",
        "pcrr8r",
        "Consolas",
        "LMMono10",
    )
    assert all(is_mono_font(name) for name in typewriter)
    # (a Word PDF's TrueType subsets are named "TT…", and Monotype's faces are proportional)
    assert not any(is_mono_font(name) for name in ("MonotypeCorsiva", "Times-Roman", "TT2A5Ft00", "CMR10"))


def test_a_root_sign_whose_glyph_box_stands_a_row_high_joins_what_it_roots_on_the_row_it_prints_on() -> None:
    from cephalo_ray.extract.document import with_radicals_on_their_rows
    from cephalo_ray.extract.geometry import Box, TextLine

    # (a thesis's caption in Latin Modern: "... ideal states |00> + i|11>/\u221a2," the sign's box
    # raised by a row over the row it prints on, written as a text object of its own)
    above = TextLine(
        Box(110.8, 652.6, 527.7, 662.2), "element and the color and direction of the", 10.4, False, 0
    )
    before = TextLine(
        Box(110.8, 665.4, 510.3, 675.8), "circles correspond to the density matrices of", 10.4, False, 0
    )
    root = TextLine(Box(510.3, 656.4, 519.4, 666.7), "\u221a", 10.9, False, 1)
    after = TextLine(Box(519.4, 666.0, 527.7, 675.8), "2,", 10.4, False, 2)
    moved = with_radicals_on_their_rows([above, before, root, after])
    assert [line.text for line in moved] == [above.text, before.text, "\u221a 2,"]
    assert moved[2].box.y0 > 662.2 and moved[2].box.x0 == root.box.x0
    # (the sign raised under a row whose end it touches: it still joins the row under it)
    upper = TextLine(Box(100.8, 331.9, 176.0, 341.5), "the fidelity of the", 10.4, False, 0)
    lower = TextLine(Box(100.8, 345.6, 176.0, 355.2), "the implemented", 10.4, False, 0)
    sign = TextLine(Box(176.0, 335.9, 185.1, 346.2), "\u221a", 10.9, False, 1)
    radicand = TextLine(Box(185.1, 345.8, 216.8, 355.5), "SWAP", 10.9, False, 2)
    assert with_radicals_on_their_rows([upper, lower, sign, radicand])[-1].text == "\u221a SWAP"
    # (a root sign in a font whose box is where it prints stays where it is, a line of its own)
    level = TextLine(Box(510.3, 665.8, 519.4, 675.6), "\u221a", 10.9, False, 1)
    assert with_radicals_on_their_rows([above, before, level, after]) == [above, before, level, after]


def test_text_too_small_to_print_is_not_read() -> None:
    # (a Word table's hidden copy of its header cells, set under a point high: its box stands as
    # tall as a row and would make the caption's last row look like a row of cells)
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 96), "U.S. State, 2008, 2011, and 2015.", fontsize=11, fontname="hebo")
    page.insert_text((377, 99), "2011 Basic EHR,", fontsize=0.96, fontname="hebo")
    assert [line.text for line in read_text_lines(page)] == ["U.S. State, 2008, 2011, and 2015."]
