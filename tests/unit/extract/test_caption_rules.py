"""Typographic rules of caption blocks and pairing, on hand-made page geometry (no PDF)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from cephalo_ray.extract.caption_blocks import find_captions, in_printed_rows
from cephalo_ray.extract.captions import (
    continued_legend,
    is_continuation,
    opens_continued,
    parse_caption_start,
)
from cephalo_ray.extract.geometry import Box, Graphic, TextLine, TextStats
from cephalo_ray.extract.page_text import without_margin_text
from cephalo_ray.extract.regions import pair_regions

PAGE = Box(0, 0, 612, 792)


def line(box: tuple[float, float, float, float], text: str, block: int, size: float = 8.0) -> TextLine:
    return TextLine(Box(*box), text, size, False, block)


def typeset(box: tuple[float, float, float, float], text: str, block: int, size: float) -> TextLine:
    """A line whose first word is bold where it is a caption's label or a numbered heading."""
    bold = re.match(r"(Fig|Table|\d+\.\d)", text) is not None
    return TextLine(Box(*box), text, size, bold, block)


def test_a_subscript_reaching_back_over_the_last_piece_keeps_the_caption_going() -> None:
    lines = [
        line((44, 697, 288, 707), "FIG. 5. The screening constant against the Debye constant. We", 18),
        line((44, 707, 288, 716), "extract it here from the small-k course of the structure factor in", 18),
        line((44, 716, 184, 724), "the section titled Simulation. It shifts k*", 18),
        line((306, 685, 550, 694), "modifications such as the introduction of defects in the", 19, 10.0),
        line((181, 717, 288, 727), "D to the right, also increasing the", 20),
        line((44, 725, 288, 736), "maximum screening constant for each ratio.", 20),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text.endswith(
        "It shifts k* D to the right, also increasing the maximum screening constant for each ratio."
    )


def test_a_row_written_end_first_is_read_left_to_right() -> None:
    lines = [
        line((72, 477, 538, 487), "FIG. 2. (a) Phase space of the simulations, points coloured by", 49, 10.9),
        line((213, 489, 222, 499), "\u221a", 51, 10.9),  # a root sign reaching into the row below
        line((222, 498, 538, 508), "We/Oh. The three black lines delineate the regimes", 52, 10.9),
        line((72, 498, 208, 508), "the Reynolds number Re =", 53, 10.9),
        line((72, 510, 300, 520), "of the drop spreading process.", 54, 10.9),
    ]
    (caption,) = find_captions(lines, body_size=12.0)
    assert caption.text == (
        "FIG. 2. (a) Phase space of the simulations, points coloured by the Reynolds number Re = \u221a "
        "We/Oh. The three black lines delineate the regimes of the drop spreading process."
    )
    assert in_printed_rows(lines, [0, 2, 3]) == [0, 3, 2]


def test_a_citation_under_a_paragraph_s_indented_first_row_is_no_caption() -> None:
    # "The work condition ... is shown in" (the paragraph's first row, indented) + "Figure 1a. The
    # distance between the plant rows is 1200 mm." (an agricultural journal in Word)
    lines = [
        line(
            (324.1, 530.9, 554.8, 540.8),
            "The work condition for tomato harvesting robot is shown in",
            13,
            9.0,
        ),
        line(
            (308.4, 542.7, 559.6, 552.7),
            "Figure 1a. The distance between the plant rows is 1200 mm.",
            13,
            9.0,
        ),
        line(
            (308.4, 554.6, 559.6, 564.6),
            "Through releasing the wire for hanging the plant, the mature",
            13,
            9.0,
        ),
    ]
    assert find_captions(lines, body_size=9.0, line_gap=1.9) == []
    # a caption under a paragraph's last row, short of the column, still opens
    ended = [
        replace(
            lines[0], text="The robot was tested in the greenhouse.", box=Box(308.4, 530.9, 480.0, 540.8)
        ),
        *lines[1:],
    ]
    assert [caption.label.label for caption in find_captions(ended, body_size=9.0, line_gap=1.9)] == [
        "Figure 1"
    ]


def test_a_sentence_citing_a_figure_at_a_line_start_is_no_caption() -> None:
    lines = [
        line(
            (57, 181, 558, 194), "plates (four facets for each facet of the other kind), as shown in", 7, 12.0
        ),
        line(
            (57, 202, 558, 215),
            "Fig. S9. For crystals of 10 nm we find that the troughs are reduced",
            8,
            12.0,
        ),
        line((57, 222, 558, 236), "while the peaks remain high compared to the thermal energy.", 9, 12.0),
    ]
    assert find_captions(lines, body_size=12.0, line_gap=7.4) == []


def test_a_caption_citing_a_figure_across_its_line_break_goes_on() -> None:
    lines = [
        line(
            (72, 259, 540, 269), "Table 1: Comparison of the metrics of the three fits as shown in", 8, 12.0
        ),
        line((72, 280, 118, 291), "Figure 5.", 9, 12.0),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=10.3)
    assert caption.label.label == "Table 1" and caption.text.endswith("as shown in Figure 5.")


def test_a_caption_under_a_sub_caption_far_right_in_its_block_is_found() -> None:
    lines = [
        line((88, 527, 154, 535), "(e) 118-bus network", 100),
        line((458, 527, 524, 535), "(h) 240-bus network", 103),
        line((146, 538, 466, 545), "Figure 5. Difference of the rates between the two approaches.", 103),
    ]
    (caption,) = find_captions(lines)
    assert caption.label.label == "Figure 5"


def test_a_finished_caption_does_not_carry_on_into_the_next_column() -> None:
    lines = [
        line((310, 58, 550, 66), "proteins, or the change of induced curvature due to remodelling", 3),
        line((310, 68, 550, 76), "of a protein coat, by imposing a time-dependent curvature", 3),
        line((53, 656, 293, 663), "FIGURE 1 The left inset shows the top view of the domain used", 15),
        line((53, 665, 293, 674), "for our simulations. To see this figure in color, go online.", 15),
        line((53, 675, 281, 683), "The tension is applied at the outer boundary. See the text.", 15),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text.endswith("See the text.")


def test_a_chart_s_axis_title_in_the_body_s_size_does_not_stop_the_caption_under_it() -> None:
    # a marine-ecology journal: two charts side by side over a full-width caption; each chart's axis
    # title hangs just under it, alone on its row, as long as a line of prose
    stats = TextStats(9.5, 229.6, 1.5)
    body = [
        line(
            (58.1, 410.7 + 10.7 * row, 287.6, 421.3 + 10.7 * row),
            "higher amount of detections than receivers in",
            30,
            9.5,
        )
        for row in range(2)
    ]
    body += [
        line(
            (307.6, 410.7 + 10.7 * row, 539.4, 421.3 + 10.7 * row),
            "tions. This pattern was significant (with some",
            31,
            9.5,
        )
        for row in range(2)
    ]
    titles = [
        line((97.3, 617.7, 244.2, 628.8), "Hour of the day (from hour 0 to 23)", 40, 9.5),
        line((368.9, 645.4, 427.0, 656.4), "Date (dd/mm)", 41, 9.5),
    ]
    caption = [
        line(
            (58.1, 663.2, 539.4, 672.9),
            "Fig. 3. Temporal patterns of the frequency of hourly detections pooling all residents.",
            50,
            8.0,
        ),
        line(
            (58.1, 673.0, 539.4, 682.7),
            "(a) Mean number of detections per hour; (b) wavelet spectrum of the detections.",
            50,
            8.0,
        ),
    ]
    charts = [
        Graphic(Box(89.2, 455.3, 252.6, 614.9), "path"),
        Graphic(Box(296.0, 455.6, 541.0, 643.6), "image"),
    ]
    regions = pair_regions([*body, *titles, *caption], charts, PAGE, stats)
    (item,) = regions.items
    assert item.box.x0 <= 89.2 and item.box.x1 >= 541.0 and item.box.y1 >= 643.6


def test_continued_captions() -> None:
    assert is_continuation("Table 2 (continued)") and is_continuation("Table 2. Continued")
    assert is_continuation("Table 1. Characteristics of the Included Studies (Continued)")
    assert not is_continuation("Table 1. Results of continued therapy")
    label = parse_caption_start("Table S7 (continued)")
    assert label is not None and label.label == "Table S7"
    # (a template that prints its own label before the author's "Figure 1 (continued):")
    repeated = "Figure 1: Figure 1 (continued): Each point is one session."
    assert opens_continued(repeated) and not opens_continued("Figure 1: Figure 1 shows the sessions.")
    assert (
        continued_legend("Figure 1: Stability.", repeated)
        == "Figure 1: Stability. Each point is one session."
    )
    # (so does the first part's note of where it goes on)
    assert continued_legend(
        "Figure 1 Subject PDS41 shows the reproducible (continued on next page...)",
        "Figure 1 (...continued) reduction in peak height.",
    ) == ("Figure 1 Subject PDS41 shows the reproducible reduction in peak height.")
    # (the marker's own full stop goes with it)
    assert continued_legend("Figure 8. Footprints.", "Figure 8. (continued). A 50-kb region") == (
        "Figure 8. Footprints. A 50-kb region"
    )


def test_a_table_continued_from_an_earlier_page_is_no_item_of_its_own() -> None:
    stats = TextStats(10.0, 240.0)
    lines = [line((150, 60, 240, 68), "Table S7 (continued)", 0)]
    cells = [("Pair", "Kind", "n"), ("WE43", "alloy", "99"), ("AM50", "MgCa", "14")]
    for row, texts in enumerate(cells):
        for column, text in enumerate(texts):
            x = 150 + 100 * column
            lines.append(line((x, 80 + 12 * row, x + 40, 88 + 12 * row), text, 1 + row))
    rules = [Graphic(Box(148, y, 450, y + 0.5), "path") for y in (76, 91, 118)]
    regions = pair_regions(lines, rules, PAGE, stats)
    assert regions.items == [] and regions.unpaired_captions == []


def test_line_numbers_of_a_review_copy_go_on_a_page_without_prose() -> None:
    stats = TextStats(10.0, 240.0)
    lines = [line((329, 540 + 11 * i, 545, 548 + 11 * i), f"reference {i} of the list", 11) for i in range(6)]
    numbers = [line((563, 540 + 11 * i, 576, 548 + 11 * i), str(451 + i), 11) for i in range(6)]
    kept = without_margin_text(lines + numbers, PAGE, stats)
    assert kept == lines


def test_a_hanging_caption_in_tightly_leaded_lines_keeps_its_second_line() -> None:
    # line boxes taller than the leading overlap by 3 pt; the second line hangs under the text
    lines = [
        line((306, 437.4, 557, 451.5), "Fig. 1. Diagram of compressor systems with inputs and", 40, 10.0),
        line((325.8, 448.3, 390.4, 462.5), "states labelled.", 41, 10.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=-3.0)
    assert caption.text == "Fig. 1. Diagram of compressor systems with inputs and states labelled."


def test_a_double_spaced_caption_broken_off_mid_sentence_goes_on_where_no_body_shows_the_spacing() -> None:
    lines = [
        line(
            (63.3, 515.9, 519.3, 527.2),
            "FIG. 1. The maximum 10-m wind speed (top panel; m s-1) and (bottom panel;",
            1,
            10.5,
        ),
        line(
            (53.1, 537.8, 434.8, 547.1),
            "hPa) in the simulated storm (blue lines) and from the best track.",
            2,
            10.5,
        ),
    ]
    (caption,) = find_captions(lines, body_size=10.5, line_gap=2.0)
    assert caption.text.endswith(
        "(bottom panel; hPa) in the simulated storm (blue lines) and from the best track."
    )
    finished = [
        line((63.3, 515.9, 519.3, 527.2), "FIG. 1. The maximum 10-m wind speed over three days.", 1, 10.5),
        lines[1],
    ]
    (caption,) = find_captions(finished, body_size=10.5, line_gap=2.0)
    assert caption.text == "FIG. 1. The maximum 10-m wind speed over three days."


def test_a_bold_label_on_its_own_line_takes_the_smaller_lines_under_it() -> None:
    lines = [
        line((38, 101, 289, 110), "is seen in the next table, as the structure absorbs the beam.", 0, 10.0),
        line((38, 113, 181, 122), "ture absorbs considerably the beam.", 0, 10.0),
        TextLine(Box(32, 127, 61, 135), "Table 4", 9.0, True, 0),  # hung into the margin, same block
        line((38, 137, 289, 145), "Comparison of beam intensity attenuation in percent by the slit", 1),
        line((38, 147, 182, 155), "for the four cases studied.", 1),
        line((44, 160, 70, 167), "case", 2),
        line((126, 160, 165, 167), "slit", 2),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=3.0)
    assert caption.label.label == "Table 4"
    assert caption.text == (
        "Table 4 Comparison of beam intensity attenuation in percent by the slit for the four cases studied."
    )


def test_a_hanging_caption_ends_where_body_text_comes_back_out_to_its_label() -> None:
    lines = [
        line(
            (40.8, 197.1, 291.8, 211.2),
            "Fig. 6. Average controller computation time per iteration,",
            14,
            10.0,
        ),
        line((60.7, 208.1, 291.4, 222.2), "as a function of the number of solver iterations used.", 15, 10.0),
        line((40.8, 222.4, 291.8, 236.5), "in the number of outputs used, and the non-cooperative", 15, 10.0),
        line(
            (40.8, 233.3, 291.8, 247.5), "approach considers fewer outputs than the centralized or", 15, 10.0
        ),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=-3.0)
    assert caption.text.endswith("as a function of the number of solver iterations used.")


def test_a_caption_goes_on_past_the_next_columns_lines_across_a_narrow_gutter() -> None:
    lines = [
        line(
            (56.7, 453.7, 290.6, 464.3),
            "Figura 5: Beam sizes realized at YAG Screen in booster-to-SR",
            20,
            12.0,
        ),
        line((56.8, 468.1, 292.2, 478.8), "transport line. Nominal optical functions used:", 20, 12.0),
        line((316.4, 299.9, 538.6, 310.6), "The use of TEE proved to be a valuable tool", 21, 12.0),
        line((304.7, 468.2, 330.0, 478.8), "ramp.", 21, 12.0),  # 12 pt away, on the caption's last row
        line((57.3, 482.4, 292.0, 493.2), "\u03b2x = 17.11 m, \u03b7y = 0 mm.", 22, 12.0),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=3.8)
    assert caption.text.endswith("functions used: \u03b2x = 17.11 m, \u03b7y = 0 mm.")


def test_a_caption_written_into_the_block_of_the_listing_above_it_in_another_size_opens() -> None:
    lines = [
        line((90, 280.4, 174, 288.3), "l1 [dd9]53:69", 3, 10.0),
        line((90, 288.6, 180.6, 301.1), "l1 [dd10]53:69", 3, 10.0),
        line(
            (90, 300.5, 496.6, 313.9),
            "Figure 5. A non-standard instruction file that reads the numbers.",
            3,
            12.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=1.0)
    assert caption.label.label == "Figure 5" and caption.text.startswith("Figure 5. A non-standard")


def test_a_bracketed_headnote_under_a_table_title_is_part_of_its_caption() -> None:
    lines = [
        line((90, 72.3, 331, 85.6), "Table 9. Instructions available in UCODE_2005.", 0, 12.0),
        line(
            (90, 86.1, 509, 99.4), "[All instruction lines need to start with something in the first", 1, 12.0
        ),
        line(
            (90, 99.9, 512, 113.2), "column. Column numbers are obtained by counting from the left.]", 1, 12.0
        ),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=0.5)
    assert caption.text.endswith("counting from the left.]")


def small_caption_line(
    box: tuple[float, float, float, float], text: str, block: int, bold: bool = False
) -> TextLine:
    return TextLine(Box(*box), text, 7.2, bold, block)


def test_a_small_loosely_set_caption_keeps_its_rows_after_a_finished_sentence() -> None:
    lines = [
        small_caption_line(
            (106.3, 345.2, 489.0, 352.3),
            "Figure 2. The first column displays the structure of POD 13; the",
            62,
            True,
        ),
        small_caption_line(
            (106.3, 357.2, 490.4, 364.2), "second column displays the spatial structure of the DMD mode.", 63
        ),
        small_caption_line(
            (106.1, 369.5, 489.0, 376.2),
            "The third column shows the density perturbation of a slow mode.",
            64,
        ),
        line(
            (106.0, 390.5, 489.0, 399.5),
            "The POD technique was developed by Pearson as an analogue of the",
            65,
            9.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=9.0, line_gap=3.0)
    assert caption.text.endswith("density perturbation of a slow mode.")


def test_a_citation_wrapped_after_a_bold_label_line_and_a_hyphen_keep_a_small_caption_going() -> None:
    lines = [
        small_caption_line(
            (106.3, 276.2, 489.0, 283.0),
            "Figure 5. Left panel displays POD 10, shown on the first column of",
            17,
            True,
        ),
        small_caption_line(
            (106.3, 287.8, 489.0, 294.9), "Figure 3. The right panel shows the DMD mode seen in the time-", 18
        ),
        small_caption_line((106.3, 299.8, 249.3, 306.9), "azimuth diagram in Figure 6.", 19),
    ]
    (caption,) = find_captions(lines, body_size=9.0, line_gap=3.0)
    assert caption.label.label == "Figure 5" and caption.text.endswith("azimuth diagram in Figure 6.")


def test_a_formula_row_with_a_subscript_under_a_piece_is_no_row_of_table_cells() -> None:
    lines = [
        line(
            (106.3, 306.7, 489.0, 315.6),
            "Table 1: Ranking of nodes by the likelihood of a price spike, according to",
            3,
            9.0,
        ),
        line(
            (106.3, 319.0, 489.0, 328.5),
            "Monte Carlo simulation and large deviations results (in terms of",
            3,
            9.0,
        ),
        line((106.3, 330.2, 162.9, 341.8), "decay rates I*", 4, 8.8),
        line((158.1, 329.2, 246.9, 342.9), "i ), for the case \u00b5(high)", 5, 8.3),
        line((226.7, 337.7, 231.1, 343.9), "\u03b8", 6, 7.0),  # a subscript inside the piece before
        line((249.2, 330.4, 489.0, 343.2), "= 0.5 \u00d7 \u00b5(installed), q = 0.018. The values", 6, 8.5),
    ]
    (caption,) = find_captions(lines, body_size=9.0, line_gap=2.5)
    assert "(in terms of decay rates I* i ), for the case" in caption.text


def test_a_caption_whose_last_row_ends_short_stops_before_body_text_in_another_size() -> None:
    lines = [
        line(
            (54.0, 432.4, 297.0, 440.6),
            "Figure 3: BLEU scores of different models on generating k-th sen-",
            18,
            9.0,
        ),
        line((54.0, 442.5, 72.9, 450.5), "tence", 18, 9.0),
        line(
            (54.0, 452.7, 297.0, 461.8),
            "score goes down as k increases and it drops significantly from",
            18,
            10.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=1.5)
    assert caption.text == "Figure 3: BLEU scores of different models on generating k-th sentence"
    # a full row broken off mid-word goes on in the body's size (a caption set in two sizes)
    going_on = [
        line(
            (319.6, 512.8, 576.1, 521.7),
            "FIGURE 13: Motion signatures obtained by steps given in 2. Al-",
            45,
            9.0,
        ),
        line(
            (319.6, 524.8, 576.1, 533.7),
            "though topology difference is even more evident in this represen-",
            45,
            10.0,
        ),
        line(
            (319.6, 536.7, 553.2, 545.6),
            "tation, it also signifies the similarity pattern between them.",
            45,
            10.0,
        ),
    ]
    (caption,) = find_captions(going_on, body_size=10.0, line_gap=2.0)
    assert caption.text.endswith("similarity pattern between them.")


def word_processor_page(caption_gap: float) -> list[TextLine]:
    """A word processor's page: line boxes taller than the line pitch (each overlaps the next by
    2.3 pt), a centred one-line caption, then the paragraph under it in the same block."""
    body = [
        line(
            (72, 100 + 11.5 * row, 530, 113.6 + 11.5 * row),
            "running text of the body paragraph " * 2,
            1,
            10.1,
        )
        for row in range(12)
    ]
    caption_top = 260.0
    caption = line(
        (227.5, caption_top, 386.8, caption_top + 13.6), "Fig 1. Command and Telemetry Server", 2, 10.1
    )
    after = caption_top + 13.6 + caption_gap
    paragraph = [
        line(
            (72, after + 11.5 * row, 515, after + 13.6 + 11.5 * row),
            "The server acts as the hub of it all and",
            2,
            10.1,
        )
        for row in range(3)
    ]
    return [*body, caption, *paragraph]


def test_overlapping_line_boxes_give_a_negative_line_gap_and_a_centred_caption_ends_at_the_paragraph() -> (
    None
):
    from cephalo_ray.extract.page_text import text_stats

    for caption_gap in (9.4, 15.2):  # the paragraph space after a caption, as two documents set it
        lines = word_processor_page(caption_gap)
        stats = text_stats([lines])
        assert -2.5 < stats.line_gap < -2.0  # the pitch minus the box height, not a paragraph's space
        (caption,) = find_captions(lines, body_size=stats.body_size, line_gap=stats.line_gap)
        assert caption.text == "Fig 1. Command and Telemetry Server", caption_gap


def test_a_centred_caption_row_keeps_the_centred_row_under_it() -> None:
    lines = [
        line(
            (100, 300, 500, 311),
            "Figure 2. The measured spectra of the four samples, each shifted up",
            1,
            9.0,
        ),
        line((180, 312, 420, 323), "by one unit for clarity, against the model.", 1, 9.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=1.0)
    assert caption.text.endswith("against the model.")


def test_a_subscript_under_its_rows_superscript_keeps_the_caption_going() -> None:
    lines = [
        TextLine(Box(83.3, 423.4, 188.0, 435.0), "Figure 2: The Emiss", 10.2, True, 42),
        line((171.3, 430.5, 177.4, 437.6), "T", 43, 8.0),  # E with "miss" above and "T" below
        line(
            (193.1, 425.3, 511.9, 435.0),
            "distribution of the sV and tS models in the mono-jet and mono-",
            43,
            10.9,
        ),
        line((83.3, 440.2, 511.9, 451.1), "Z(lep) channels, for some exemplary masses.", 43, 10.8),
    ]
    (caption,) = find_captions(lines, body_size=10.9, line_gap=4.0)
    assert caption.text.startswith("Figure 2: The Emiss T distribution of the sV")
    assert caption.text.endswith("exemplary masses.")


def test_a_rule_under_a_label_alone_does_not_end_the_caption_before_its_legend() -> None:
    legend = [
        "Analysis of group mean using a hierarchical Bayesian model. The dashed line is the global mean",
        "from all data points. The blue dots are group means computed from the data points in the group.",
    ]
    lines = [
        TextLine(Box(90.8, 377.6, 120.9, 384.7), "Figure 6", 8.0, True, 9),
        line((90.8, 390.2, 448.9, 397.3), legend[0], 10),
        line((90.8, 400.1, 455.0, 407.2), legend[1], 10),
    ]
    rule = Box(90.8, 386.0, 456.0, 386.6)
    (caption,) = find_captions(lines, [rule], body_size=9.0, line_gap=4.0)
    assert caption.text == "Figure 6 " + " ".join(legend)
    # a table's head under a ruled caption is no legend: the rule still ends the caption there
    head = [
        TextLine(Box(90.8, 377.6, 120.9, 384.7), "Table 2", 8.0, True, 9),
        line((90.8, 390.2, 300, 397.3), "Sample Mass Yield", 10),
    ]
    (table_caption,) = find_captions(head, [rule], body_size=9.0, line_gap=4.0)
    assert table_caption.text == "Table 2"


def test_a_margin_legend_ruled_off_from_its_label_goes_on_a_few_words_a_line() -> None:
    # a textbook's margin column: the bold label, a short rule under it, the legend in italics a few
    # words a line; a tick label of the chart beside it shares the label's row
    legend = ["Resistance coefficient f", "versus Re for sand", "roughened pipe. [After", "Nikuradse (4)]."]
    lines = [
        TextLine(Box(45.0, 400.4, 95.4, 408.9), "Figure 10.12", 9.5, True, 9),
        *(
            line((45.0, 416.6 + 12 * row, 135.0, 425.3 + 12 * row), text, 11, 9.5)
            for row, text in enumerate(legend)
        ),
        line((169.6, 402.1, 188.8, 410.3), "0.100", 10, 7.0),
    ]
    rule, chart = Box(45.0, 410.2, 140.8, 410.8), Box(155.0, 402.0, 471.0, 655.0)
    (caption,) = find_captions(lines, [rule, chart], body_size=10.5, line_gap=2.4)
    assert caption.text == "Figure 10.12 " + " ".join(legend)
    # a table's head row under the same rule spreads across the table: the rule ends the caption
    head = [lines[0], line((45.0, 416.6, 400.0, 425.3), "Pipe material Roughness ks (mm)", 11, 9.5)]
    (table_caption,) = find_captions(head, [Box(45.0, 410.2, 400.0, 410.8)], body_size=10.5, line_gap=2.4)
    assert table_caption.text == "Figure 10.12"


def test_a_side_caption_keeps_the_figure_beside_it_over_a_row_of_figures_captioned_below() -> None:
    # a journal page: a wide figure at the right with its caption at its left, bottom-aligned; under
    # it two figures side by side, each captioned below; the side caption's claim downwards reaches
    # the left figure under it, which its own caption right under it wins
    stats = TextStats(9.0, 230.0, 1.5)
    side = [
        TextLine(Box(69.7, 235.4, 218.3, 243.0), "Fig. 8 Temporal dynamics of percentage", 8.0, True, 1),
        line((69.7, 245.0, 218.0, 253.0), "lipid content of cohorts from (a) Flathead", 1),
        line((69.7, 255.0, 200.0, 263.0), "and (b) Waterton Lakes.", 1),
    ]
    under = [
        TextLine(Box(69.7, 535.5, 296.6, 543.0), "Fig. 9 Per cent lipid content of eggs and", 8.0, True, 2),
        line((69.7, 545.0, 250.0, 553.0), "females from Flathead and Waterton Lakes.", 2),
        TextLine(Box(314.8, 536.2, 538.9, 544.0), "Fig. 10 Number of eggs and embryos per", 8.0, True, 3),
        line((314.8, 546.0, 500.0, 554.0), "female from Flathead and Waterton Lakes.", 3),
    ]
    wide, left, right = (
        Box(231.1, 73.0, 541.9, 263.5),
        Box(72.3, 342.0, 294.2, 528.0),
        Box(323.0, 300.0, 533.0, 529.0),
    )
    graphics = [Graphic(box, "image") for box in (wide, left, right)]
    regions = pair_regions([*side, *under], graphics, PAGE, stats)
    boxes = {item.caption.text.split(" ")[1]: item.box for item in regions.items}
    assert boxes == {"8": wide, "9": left, "10": right}


def test_a_bold_caption_right_under_a_long_numbered_heading_in_its_block_opens_a_caption() -> None:
    # a ministry's Word report: heading, table caption and body share one block, all bold, no space
    heading = TextLine(
        Box(63.9, 435.5, 322.8, 449.3),
        "3.1 Distribution spatiale et foyers actifs au 27 juin 2026",
        12.0,
        True,
        5,
    )
    title = "Tableau 1. Répartition des cas et décès confirmés par province touchée en date du 27 juin 2026."
    label = TextLine(Box(63.9, 451.4, 515.6, 465.1), title, 12.0, True, 5)
    (caption,) = find_captions([heading, label], body_size=12.0, line_gap=2.0)
    assert (caption.label.label, caption.text) == ("Table 1", title)
    # under an unnumbered bold line that runs on into it, the label is the sentence's
    run_on = replace(heading, text="Cases and deaths are reported by province in")
    assert find_captions([run_on, label], body_size=12.0, line_gap=2.0) == []


def test_a_table_s_column_of_figure_labels_opens_no_captions() -> None:
    # a political-science journal's table lists which figures and tables use which estimator: its
    # first column is labels, "Figure 6  No  90% CIs shown" a row of cells, not a caption
    rows = ["Figure 3", "Figure 4", "Figure A4", "Table A7", "Table A8"]
    lines = [
        piece
        for row, label in enumerate(rows)
        for piece in (
            line((98.8, 541.4 + 9.95 * row, 135.0, 549.8 + 9.95 * row), label, 10 + row, 8.0),
            line(
                (160.6, 541.4 + 9.95 * row, 172.0, 549.8 + 9.95 * row),
                "No" if row % 2 else "Yes",
                10 + row,
                8.0,
            ),
        )
    ]
    assert find_captions(lines, body_size=9.5, line_gap=1.0) == []
    # two one-row captions a paragraph apart stay captions
    apart = [
        line((54.3, 300.0, 260.0, 309.0), "Figure 3 Weighted estimates by study", 1, 8.0),
        line((54.3, 400.0, 260.0, 409.0), "Figure 4 Unweighted estimates by study", 2, 8.0),
    ]
    assert [caption.label.label for caption in find_captions(apart, body_size=9.5, line_gap=1.0)] == [
        "Figure 3",
        "Figure 4",
    ]


def test_a_double_spaced_legend_goes_on_under_its_first_row_in_a_document_set_solid() -> None:
    # a Word appendix: tables set solid give the body its spacing, the legends are double-spaced
    rows = [
        "Figure S11. Ecological functional diversity of species from the global seafood species pool",
        "(Main text Methods, Supplementary Methods 5) measured as functional dispersion (i.e. the mean",
        "difference in multidimensional trait space of each individual species from the centroid of all",
        "species) increases with species richness from three to ten species.",
    ]
    lines = [
        TextLine(
            Box(72.0, 465.0 + 27.6 * row, 540.0 - (26 if row == 0 else 0), 478.2 + 27.6 * row),
            text,
            12.0,
            row == 0,
            5 + row,
        )
        for row, text in enumerate(rows)
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=0.5)
    assert caption.text == " ".join(rows)
    # a first row that ends its sentence ends the caption: the paragraph under it is the body's
    finished = [replace(lines[0], text=rows[0] + "."), *lines[1:]]
    (short,) = find_captions(finished, body_size=12.0, line_gap=0.5)
    assert short.text == rows[0] + "."
    # and so does one whose next rows are not one paragraph's steps apart (a heading, then the body)
    apart = [*lines[:2], replace(lines[2], box=Box(72.0, 540.0, 540.0, 553.2)), lines[3]]
    (alone,) = find_captions(apart, body_size=12.0, line_gap=0.5)
    assert alone.text == rows[0]


def test_two_figures_each_captioned_at_its_left_side_by_side_keep_their_own_drawings() -> None:
    # caption, drawing, caption, drawing across the page; the short rule under the right label lies
    # within reach of the left drawing
    stats = TextStats(10.5, 390.0, 2.4)
    lines = [
        TextLine(Box(45.0, 73.9, 95.4, 82.4), "Figure 10.14", 9.5, True, 1),
        line((45.0, 90.0, 134.5, 98.7), "Flow through a generic", 1, 9.5),
        line((45.0, 102.0, 90.0, 110.8), "component.", 1, 9.5),
        TextLine(Box(284.1, 73.9, 334.6, 82.4), "Figure 10.15", 9.5, True, 2),
        line((284.1, 90.0, 372.7, 98.7), "Flow at a sharp-edged", 2, 9.5),
        line((284.1, 102.0, 310.0, 110.8), "inlet.", 2, 9.5),
    ]
    left, right = Box(156.0, 99.0, 271.0, 151.0), Box(393.0, 75.0, 555.0, 178.0)
    graphics = [
        Graphic(left, "path"),
        Graphic(Box(245.0, 81.0, 255.0, 90.0), "path"),  # a numbered circle over the left drawing
        Graphic(Box(45.0, 84.0, 141.0, 84.5), "path"),  # the rules under the labels
        Graphic(Box(284.0, 84.0, 380.0, 84.5), "path"),
        Graphic(right, "path"),
    ]
    regions = pair_regions(lines, graphics, PAGE, stats)
    boxes = {item.caption.text.split(" ")[1]: item.box for item in regions.items}
    assert set(boxes) == {"10.14", "10.15"}
    assert boxes["10.14"].x1 < 280 and boxes["10.14"].x0 >= 150
    assert boxes["10.15"].x0 >= 390 and boxes["10.15"].x1 <= 556


def test_a_figure_turned_on_its_side_takes_every_column_of_panels_beside_its_turned_caption() -> None:
    stats = TextStats(10.9, 430.0, 2.0)
    # the caption runs up the page at the right; three columns of plots stand side by side, their
    # turned sub-captions between them (text of the figure, no cluster of its own)
    caption = TextLine(
        Box(443.3, 84.2, 453.0, 721.1),
        "Figure 3: Upper limits on the coupling for the s-channel models",
        10.9,
        True,
        9,
    )
    columns = [(62.0, 212.0), (259.0, 408.0)]
    plots = [Graphic(Box(x0, y0, x1, y0 + 160), "path") for x0, x1 in columns for y0 in (132.0, 340.0, 547.0)]
    sub_captions = [
        line((223.2, y0, 233.0, y0 + 190), "(a) sV model, mono-jet channel.", 3 + index, 9.8)
        for index, y0 in enumerate((100.0, 310.0, 515.0))
    ]
    regions = pair_regions([*sub_captions, caption], plots, PAGE, stats)
    (item,) = regions.items
    assert (round(item.box.x0), round(item.box.x1)) == (62, 408)


def test_a_legends_doi_and_continuation_note_are_no_part_of_it() -> None:
    legend = "Figure 4. Inhibition of ufmylation elicits an ER stress response. (A) Cells were probed by immunoblot."
    for tail in (
        "DOI: 10.7554/eLife.17290.010",
        "Figure 4 continued on next page",
        "The following source data is available for figure 4:",
    ):
        lines = [
            line((37, 584, 566, 592), legend, 1),
            line((37, 595, 397, 603), "Ten fields were counted per condition.", 1),
            line((37, 606, 300, 614), tail, 1),
        ]
        (caption,) = find_captions(lines, body_size=9.5, line_gap=2.5)
        assert caption.text == legend + " Ten fields were counted per condition.", tail


def test_entries_of_a_list_of_figures_are_not_captions() -> None:
    lines = [
        line((43, 152, 293, 161), "Table 1 Classes of recommendations ..................... 3630", 5, 9.0),
        line((43, 163, 293, 172), "Table 2 Levels of evidence ............................... 3630", 5, 9.0),
        line((43, 232, 293, 241), "Figure 1 Management of patients with heart failure with mildly", 6, 9.0),
        line((43, 243, 293, 252), "reduced ejection fraction ................................ 3631", 6, 9.0),
        line((43, 300, 293, 309), "Figure 2. Survival of the patients after discharge.", 7, 9.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.label.label == "Figure 2"


def test_a_turned_caption_whose_lines_the_pdf_wrote_out_of_order_is_read_whole() -> None:
    lines = [
        line((97.4, 74.2, 105.7, 715.0), "TABLE 4. Timing and duration of migration of the terns,", 5, 9.0),
        line(
            (117.0, 74.3, 125.9, 715.0),
            "linear models, which included the sex and the lake of the bird",
            6,
            9.0,
        ),
        line((127.3, 466.0, 135.5, 715.0), "and the years of data collection.", 7, 9.0),
        line((107.4, 74.2, 115.6, 715.0), "from four breeding lakes, with the estimates of the", 8, 9.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text == (
        "TABLE 4. Timing and duration of migration of the terns, from four breeding lakes, with the "
        "estimates of the linear models, which included the sex and the lake of the bird and the years "
        "of data collection."
    )


def test_a_turned_caption_stops_at_the_head_rule_of_its_table() -> None:
    lines = [
        line(
            (41.1, 72.1, 52.2, 731.4),
            "Table 1. Characteristics of the included studies with their year,",
            9,
            9.0,
        ),
        line((51.1, 554.1, 62.2, 731.4), "and endpoint of the study.", 9, 9.0),
        line((66.0, 554.8, 76.7, 588.1), "Initiation", 10, 8.8),  # a header cell past the head rule
    ]
    (caption,) = find_captions(lines, [Box(65.0, 73.0, 65.5, 732.0)], body_size=9.5)
    assert caption.text.endswith("and endpoint of the study.")


def test_a_label_alone_ending_in_a_full_stop_takes_the_title_under_it() -> None:
    lines = [
        line((56.7, 190.2, 296.3, 203.6), "ülke ile Türkiye’nin verileri Tablo 1’de görülmektedir.", 5, 10.0),
        line((56.7, 207.8, 90.9, 221.3), "Tablo 1.", 6, 10.0),
        line(
            (56.7, 225.5, 484.4, 238.9),
            "PISA 2003–2006 Sınavlarında En Başarılı Beş Ülke ve Türkiye’nin Matematik",
            7,
            10.0,
        ),
        line((56.7, 237.5, 95.8, 250.9), "Sonuçları", 7, 10.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert (
        caption.text
        == "Tablo 1. PISA 2003–2006 Sınavlarında En Başarılı Beş Ülke ve Türkiye’nin Matematik Sonuçları"
    )


def test_a_centred_label_ending_in_a_colon_takes_the_centred_title_a_blank_line_under_it() -> None:
    # a LaTeX class that sets "Cuadro 1:" alone on a centred row, a blank line, then the title centred
    # in the body's font and size, over the table's header row
    lines = [
        line(
            (86.9, 204.5, 443.9, 213.3),
            "El Cuadro 1 resume la estadística descriptiva de las variables.",
            5,
            10,
        ),
        line((274.4, 226.7, 317.6, 235.6), "Cuadro 1:", 6, 10.0),
        line(
            (168.1, 250.6, 427.2, 259.5),
            "Estadística descriptiva de las variables utilizadas 2016-2019",
            7,
            10,
        ),
        line((258.8, 275.3, 291.0, 282.6), "Promedio", 8, 8.0),
        line((313.5, 275.3, 382.6, 282.6), "Desviación Estandar", 9, 8.0),
        line((408.2, 275.3, 434.1, 282.6), "Mínimo", 10, 8.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=3.1)
    assert caption.text == "Cuadro 1: Estadística descriptiva de las variables utilizadas 2016-2019"
    # a figure's: the title wraps, its first row filling the text width, and stands 15.1 pt lower
    lines = [
        line((276.1, 73.5, 315.9, 82.3), "Figura 1:", 1, 10.0),
        line(
            (74.3, 97.4, 521.0, 106.2),
            "Comparativo entre inversión en educación y resultados promedio",
            2,
            10,
        ),
        line((271.8, 109.3, 323.5, 118.2), "2016 y 2019", 2, 10.0),
        line((156.9, 146.5, 445.6, 166.6), "Inversión pública en educación por comuna", 3, 10.8),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=3.1)
    assert (
        caption.text == "Figura 1: Comparativo entre inversión en educación y resultados promedio 2016 y 2019"
    )
    # a label with no colon a blank line over a centred row is not taken so far
    lines[0] = line((276.1, 73.5, 315.9, 82.3), "Figura 1", 1, 10.0)
    (caption,) = find_captions(lines, body_size=10.0, line_gap=3.1)
    assert caption.text == "Figura 1"


def test_a_caption_that_is_its_label_alone_stops_before_the_numbered_heading_under_it() -> None:
    # a Word report: "Figure 1" alone under its picture, then the next subsection's bold heading
    lines = [
        line((72.0, 429.1, 110.4, 440.1), "Figure 1", 7, 11.0),
        TextLine(Box(108.0, 451.9, 191.6, 463.9), "2.2 Constraints:", 12.0, True, 8),
        line((126.0, 473.7, 305.2, 486.4), "● In case we work with video models", 9, 11.0),
    ]
    (caption,) = find_captions(lines, body_size=11.0, line_gap=2.0)
    assert caption.text == "Figure 1"
    # a bold title under a bold label is its title, whatever it opens with
    lines[0] = TextLine(Box(72.0, 429.1, 110.4, 440.1), "Figure 1", 12.0, True, 7)
    (caption,) = find_captions(lines, body_size=11.0, line_gap=2.0)
    assert caption.text == "Figure 1 2.2 Constraints:"


def test_an_italic_caption_broken_off_mid_sentence_goes_on_at_its_own_looser_spacing() -> None:
    # a Word thesis's appendix of tables: the body is table cells set solid, the caption italic at
    # 1.5 lines, its first row filling the width and broken off mid-sentence
    caption_rows = [
        TextLine(
            Box(113.4, 443.0, 527.5, 455.2),
            "Tabelle 4: Übersicht aller Wirt-Gegenspieler-Interaktionen aufgeschlüsselt nach der",
            11.0,
            False,
            15,
            italic=True,
        ),
        TextLine(
            Box(113.4, 461.9, 417.4, 474.2),
            "Nestabundanz (AFS - Agroforstfläche, REF - Referenzfläche).",
            11.0,
            False,
            16,
            italic=True,
        ),
    ]
    cells = [line((119.1, 509.8, 185.2, 520.9), "Gegenspieler", 17, 10.0)]
    (caption,) = find_captions([*caption_rows, *cells], body_size=10.0, line_gap=0.41)
    assert caption.text.endswith("nach der Nestabundanz (AFS - Agroforstfläche, REF - Referenzfläche).")
    upright = [replace(row, italic=False) for row in caption_rows]
    (caption,) = find_captions([*upright, *cells], body_size=10.0, line_gap=0.41)
    assert caption.text.endswith("nach der")  # (upright rows in a solid body: the text may resume)
    # a short italic caption over an italic heading set larger: the heading is the body's
    rows = [
        TextLine(
            Box(306.7, 678.8, 442.9, 688.8), "Figure 1 Research System Flowchart", 9.0, False, 16, italic=True
        ),
        TextLine(Box(306.7, 699.0, 427.8, 710.2), "B. Dataset dan Sumber Data", 10.0, False, 17, italic=True),
    ]
    (caption,) = find_captions(rows, body_size=10.0, line_gap=0.41)
    assert caption.text == "Figure 1 Research System Flowchart"


def test_a_ruled_algorithm_s_caption_under_a_sentence_ending_in_a_colon_opens() -> None:
    # a thesis's algorithm floats ruled as algorithm2e sets them: the sentence announcing it, the top
    # rule, "Algoritmo 4: ...", a rule, the pseudo-code
    lines = [
        line((74.6, 204.0, 249.6, 216.0), "El siguiente seudocódigo hace eso:", 1, 12.0),
        line((65.7, 221.6, 221.4, 233.6), "Algoritmo 4: Multireducción", 1, 12.0),
        line((74.6, 237.3, 260.3, 250.3), "Data: G, F conjuntos finitos", 1, 12.0),
        line((63.8, 265.2, 276.6, 279.2), "1 G′ ← Preprocesamiento simbólico(G, F)", 1, 11.7),
    ]
    rules = [Box(56.3, 220.1, 539.0, 220.9), Box(56.3, 235.6, 539.0, 236.4)]
    (caption,) = find_captions(lines, rules, body_size=12.0, line_gap=2.0)
    assert caption.text == "Algoritmo 4: Multireducción"
    # (with no rule between them the sentence runs on into the label: it cites the algorithm)
    assert find_captions(lines, [], body_size=12.0, line_gap=2.0) == []


def test_a_label_set_apart_above_its_title_in_a_caption_font_takes_the_title() -> None:
    # "Exhibit 3" alone (its box squat, as the PDF's font reports it), the title a blank line under
    # it in a smaller caption font, and the body column beside it in the other half of the page
    lines = [
        TextLine(Box(40, 509.9, 80.6, 514.5), "Exhibit 3", 9.0, False, 21),
        line((36.1, 527.4, 330.2, 535.5), "Prevalence Of Functions Not Yet Adopted Among Hospitals", 22),
        line((36.1, 537.5, 173.4, 545.6), "With Less Than A Basic EHR System", 22),
        *[
            line(
                (359.4, 506.1 + 11.5 * row, 561, 515.1 + 11.5 * row),
                "hospitals were ready to meet the",
                23,
                9.2,
            )
            for row in range(8)
        ],
    ]
    (caption,) = find_captions(lines, body_size=9.2, line_gap=2.5)
    assert caption.text.startswith("Exhibit 3 Prevalence Of Functions") and caption.text.endswith(
        "EHR System"
    )


def test_a_label_in_a_table_cell_does_not_take_the_cell_below() -> None:
    cells = [
        line((142.2, 588.6, 150.5, 598.3), "R", 19, 10.9),
        line((191.7, 586.7, 239.4, 598.4), "6 · 104 nm", 19, 10.6),
        line((295.1, 588.6, 322.8, 598.3), "Fig. 4", 19, 10.9),
        line((141.0, 610.3, 151.4, 621.2), "kb", 20, 9.4),
        line((191.7, 609.1, 238.7, 620.0), "30 pN·nm", 20, 10.9),
        line((295.1, 610.3, 414.6, 620.0), "Fig. 4, text on page 7136", 20, 10.9),
    ]
    captions = find_captions(cells, body_size=12.0, line_gap=2.5)
    assert all("text on page" not in caption.text for caption in captions)


def test_an_em_dash_before_a_capital_ends_a_label() -> None:
    label = parse_caption_start("Table 1\u2014Summary Statistics")
    assert label is not None and label.label == "Table 1"
    assert parse_caption_start("Table 1\u2014which the reader saw\u2014lists") is None


def test_a_paragraph_describing_the_table_under_its_title_belongs_to_the_caption() -> None:
    lines = [
        TextLine(Box(230.7, 71.2, 259.1, 78.8), "Table I", 8.0, True, 1),
        TextLine(Box(194.3, 81.7, 295.5, 91.1), "Summary Statistics", 10.0, True, 1),
        line((65.5, 95.7, 424.2, 103.2), "This table reports summary statistics for our baseline sample.", 2),
        line((65.5, 105.6, 424.2, 113.1), "Worker-level information comes from the income register and", 2),
        line((65.5, 115.1, 186.6, 123.1), "is available for the period.", 2),
        line((238.2, 134.5, 299.1, 142.0), "All Homeowners", 3),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=2.5)
    assert caption.text.startswith("Table I Summary Statistics This table reports")
    assert caption.text.endswith("is available for the period.")


def test_the_key_set_between_a_table_s_title_and_the_table_belongs_to_the_caption() -> None:
    # (a French medical thesis: "Légendes : ..." in the body's size under the centred title, over a
    # screenshot of the table)
    lines = [
        line(
            (146.9, 78.4, 448.5, 89.0), "Tableau 3 – Détail de l’assignation taxonomique des reads.", 1, 12.0
        ),
        line(
            (86.5, 100.9, 508.8, 111.5),
            "Légendes : Nombre de reads - Moyenne des abondances relatives - écart-",
            2,
            12.0,
        ),
        line(
            (76.8, 118.9, 518.7, 129.4),
            "type des abondances relatives - plus petite abondance relative",
            2,
            12.0,
        ),
        line((273.4, 136.8, 321.9, 147.4), "dominant", 2, 12.0),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=7.0)
    assert caption.text.endswith("relative dominant") and "Légendes : Nombre" in caption.text


def test_a_one_row_caption_centred_in_its_column_ends_where_the_paragraph_or_heading_starts() -> None:
    # a CJK journal: captions in the body's size, centred under their figures; the body's paragraphs
    # open with a two-character indent, headings sit at the column's edge
    lines = [
        line((109, 397, 236, 409), "图１　多维统一标识体系框架", 40, 9.7),
        line((78, 412, 288, 424), "服务层针对上层新型多样的网络应用，基于多维", 42, 9.7),
        line((58, 428, 288, 440), "属性对差异化的应用属性进行统一描述，构成多维属", 44, 9.7),
        line((349, 242, 496, 254), "图３　多维统一标识映射报文格式", 20, 9.7),
        line((308, 258, 448, 269), "１．３．２　服务层解析映射工作流程", 22, 9.7),
    ]
    first, third = find_captions(lines, body_size=9.7)
    assert first.text == "图１ 多维统一标识体系框架"
    assert third.text == "图３ 多维统一标识映射报文格式"


def test_the_rows_of_a_ragged_hanging_caption_go_on_under_a_short_first_row() -> None:
    lines = [
        line((50, 500, 270, 510), "Figure 4. Mean daily flow at the three gauges over the", 30, 9.0),
        line((92, 511, 262, 521), "record, with the dry years shaded in grey and the", 30, 9.0),
        line((92, 522, 200, 532), "floods of 1996 marked.", 30, 9.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text.endswith("floods of 1996 marked.")


def test_a_title_set_off_by_a_tab_after_its_label_alone_is_on_the_caption_row() -> None:
    lines = [
        line((54, 408, 86, 416), "Figure 5.", 12),
        line((101, 408, 297, 416), "Proposed lossy compression algorithm using Multi-layer", 12),
        line((54, 417, 155, 425), "Prediction and AEQVE Model", 12),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert (
        caption.text
        == "Figure 5. Proposed lossy compression algorithm using Multi-layer Prediction and AEQVE Model"
    )


def test_a_table_caption_ending_in_a_colon_keeps_its_numbered_notes_and_takes_the_table_above() -> None:
    # a table of words and numbers without rules, its caption under it, then the notes the caption
    # announces, one per row in a smaller size
    cells = ["Dataset", "Size", "Nodes", "Source"], ["pokec", "0.4", "1.63", "SNAP1"]
    rows = [*cells, ["flickr", "0.4", "2.30", "Konect2"], ["wiki", "6.7", "13.6", "Konect2"]]
    table = [
        line((160 + 80 * column, 170 + 12 * row, 200 + 80 * column, 180 + 12 * row), text, 1, 10.0)
        for row, cells_of_row in enumerate(rows)
        for column, text in enumerate(cells_of_row)
    ]
    caption = [
        line(
            (127, 224, 510, 236),
            "Table 1. General features of the datasets used. The data can be found in the",
            2,
            9.0,
        ),
        line((127, 236, 204, 245), "following websites:", 2, 9.0),
    ]
    notes = [
        line(
            (127, 244, 348, 254), "1Stanford Network Analysis Project: http://snap.stanford.edu/data/", 2, 7.9
        ),
        line(
            (127, 253, 509, 264),
            "2Koblenz Network Collection: http://konect.cc/networks/flickr-growth/",
            2,
            7.9,
        ),
        line(
            (127, 263, 349, 273), "3Gong Research Group: http://gonglab.pratt.duke.edu/google-dataset", 2, 7.9
        ),
    ]
    regions = pair_regions([*table, *caption, *notes], [], PAGE, TextStats(10.0, 400.0))
    (item,) = regions.items
    assert item.kind == "table"
    assert item.box.y1 < 224
    assert item.caption is not None
    assert item.caption.text.endswith("3Gong Research Group: http://gonglab.pratt.duke.edu/google-dataset")


def test_a_header_row_between_the_top_rule_and_a_column_groups_rule_does_not_stop_the_table() -> None:
    # "DV = Turnout  Labor vote share  Labor seat share": a row of words between the top rule and
    # the rule under its column group, as wide as prose but part of the table
    stats = TextStats(10.9, 360.0)
    lines = [
        line(
            (149, 419, 465, 430),
            "Table 2. Effects of compulsory voting in state assembly elections.",
            3,
            10.9,
        ),
        line((233, 452, 480, 462), "DV = Turnout Labor vote share Labor seat share", 4, 10.9),
    ]
    cells = [
        ("", "(1)", "(2)", "(3)"),
        ("Compulsory voting", ".243", ".245", ".092"),
        ("", "(.031)", "(.040)", "(.022)"),
        ("Year effects", "yes", "yes", "yes"),
        ("Observations", "350", "350", "350"),
    ]
    for row, texts in enumerate(cells):
        for column, text in enumerate(texts):
            top = 475 if row == 0 else 485 + 12 * row
            if text:
                x = 129 if column == 0 else 200 + 90 * column
                lines.append(
                    line(
                        (x, top, x + (90 if column == 0 else 25), top + 10),
                        text,
                        5 + row,
                        10.9,
                    )
                )
    rules = [Graphic(Box(129, y, 485, y + 0.5), "path") for y in (441, 490, 546)]
    rules.append(Graphic(Box(233, 468, 485, 468.5), "path"))
    regions = pair_regions(lines, rules, PAGE, stats)
    (item,) = regions.items
    assert item.kind == "table"
    assert item.box.y0 <= 442 and item.box.y1 >= 545


def test_a_caption_set_in_two_columns_under_a_wide_figure_goes_on_in_the_next_column() -> None:
    lines = [
        line(
            (51, 355, 289, 364),
            "Fig. 2 (A) In a preference decision-making task (N = 281), univariate",
            1,
            8.5,
        ),
        line(
            (51, 366, 289, 374),
            "analyses revealed stronger activation for decisions in line with long-",
            1,
            8.5,
        ),
        line(
            (51, 376, 289, 384),
            "term consequences. (B) Prediction of real-life self-control by pattern",
            1,
            8.5,
        ),
        line(
            (306, 356, 544, 364), "analysis was correlated with observed self-control as measured by", 2, 8.5
        ),
        line((306, 365, 494, 374), "ecological momentary assessment (r = 0.243).", 2, 8.5),
        line((51, 420, 289, 430), "The body text of the left column resumes under the caption", 3, 10.0),
        line((306, 420, 544, 430), "and so does the body text of the right column, under its part", 4, 10.0),
    ]
    figure = Box(115, 54, 481, 349)
    (caption,) = find_captions(lines, [figure], body_size=10.0)
    assert caption.text.endswith(
        "by pattern analysis was correlated with observed self-control as "
        "measured by ecological momentary assessment (r = 0.243)."
    )
    assert caption.box.x1 == 544
    # a figure in the left column only: the next column's lines are its own text
    (alone,) = find_captions(lines, [Box(51, 54, 289, 349)], body_size=10.0)
    assert alone.text.endswith("by pattern")


def test_a_title_hanging_far_from_its_label_in_the_labels_block_is_on_its_row() -> None:
    lines = [
        line((57, 203, 91, 212), "Table 1:", 3, 10.0),
        line((122, 203, 352, 212), "Summary of the NMR data availability by source type", 3, 10.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text == "Table 1: Summary of the NMR data availability by source type"


def test_a_header_of_two_rows_of_cells_under_the_top_rule_is_part_of_the_table() -> None:
    from cephalo_ray.extract.claims import vertical_claim
    from cephalo_ray.extract.geometry import Caption, Cluster

    label = parse_caption_start("Table 3-Specifications of load cases.", label_is_bold=True)
    assert label is not None
    caption = Caption(Box(106, 54, 228, 63), label, "Table 3-Specifications of load cases.", (0,))
    lines = [line((106, 54, 228, 63), caption.text, 0, 7.9)]
    header = [
        ("Type of test", 64),
        ("Description", 113),
        ("Case", 161),
        ("Initial", 197),
        ("Configuration", 232),
    ]
    for text, x in header:
        lines.append(line((x, 82, x + 30, 89), text, 1, 7.0))
    lines.append(line((193, 86, 219, 93), "position", 1, 7.0))
    clusters = [
        Cluster(Box(55, 69, 278, 70), paths=9),
        Cluster(Box(64, 78, 274, 93), lines=list(range(1, len(lines))), text_only=True),
        Cluster(Box(55, 100, 278, 425), paths=101),
    ]
    claim = vertical_claim(0, [caption], clusters, [], PAGE, (41, 299), False, lines)
    assert claim is not None and claim.clusters == (0, 1, 2)


def test_two_images_whose_margins_touch_are_split_between_their_side_by_side_captions() -> None:
    lines = [
        line((102, 730, 272, 743), 'Figure 4. Résultat du spectre "14",', 4, 12.0),
        line((317, 730, 487, 743), 'Figure 5. Résultat du spectre "17",', 4, 12.0),
    ]
    images = [Graphic(Box(85, 553, 301, 715), "image"), Graphic(Box(298, 553, 514, 715), "image")]
    hairline = Graphic(Box(280, 627, 317, 627.2), "image")  # an arrow's shaft across the middle
    regions = pair_regions(lines, [*images, hairline], PAGE, TextStats(12.0, 430.0))
    boxes = {item.caption.label.label: item.box for item in regions.items if item.caption}
    assert boxes == {"Figure 4": Box(85, 553, 301, 715), "Figure 5": Box(298, 553, 514, 715)}


def test_three_abutting_photos_in_a_row_each_over_its_own_label_are_three_figures() -> None:
    # a Word report: three photos set edge to edge (the first two share an edge exactly), each label
    # flush left under its own photo
    lines = [
        line((72.0, 351.6, 110.4, 362.7), "Figure 3", 12, 11.0),
        line((252.1, 351.6, 290.4, 362.7), "Figure 4", 12, 11.0),
        line((396.1, 351.6, 434.4, 362.7), "Figure 5", 12, 11.0),
    ]
    photos = [
        Graphic(Box(72.0, 196.5, 231.0, 348.7), "image"),
        Graphic(Box(231.0, 196.5, 382.3, 349.5), "image"),
        Graphic(Box(382.6, 196.5, 535.1, 349.5), "image"),
    ]
    seam = Graphic(Box(382.5, 196.5, 382.6, 349.5), "path")
    regions = pair_regions(lines, [*photos, seam], PAGE, TextStats(11.0, 468.0))
    boxes = {item.caption.label.label: item.box for item in regions.items if item.caption}
    assert boxes == {f"Figure {3 + index}": photo.box for index, photo in enumerate(photos)}


def test_a_numbered_formula_in_the_text_wrapped_beside_a_figure_is_no_part_of_it() -> None:
    # a LaTeX thesis: a chart set at the right of the page with its caption under it, the text and a
    # numbered fraction wrapped round it at the left, the page's full-width text under them
    prose = "el ángulo y la energía cinética de salida, en la que"
    lines = [
        line((56.7, 172.4, 117.6, 184.6), "cos(θ4). Así:", 0, 11.7),
        line((76.7, 205.7, 288.0, 221.8), "p3 cos(θ3) = γ(p′3 cos θ′3 +βE′3/c)", 1, 11.4),
        line((269.8, 211.7, 288.0, 217.4), "(15)", 1, 12.0),
        line((56.7, 235.5, 206.3, 246.6), "despejando cos(θ) obtenemos:", 2, 12.0),
        line((78.2, 259.6, 138.3, 277.5), "cos(θ3) = γ", 3, 11.7),
        line((131.3, 273.9, 141.8, 285.7), "p3", 3, 10.5),
        line((143.5, 262.0, 248.3, 278.6), "(p′3 cos θ′3 + βE′3/c)", 3, 11.0),
        line((269.8, 268.1, 288.0, 273.7), "(16)", 4, 12.0),
        *[line((56.7, 297.8 + 14.5 * row, 288.0, 309.6 + 14.5 * row), prose, 5, 12.0) for row in range(12)],
        line((310.0, 206.3, 324.4, 237.7), "[MeV]", 6, 10.5),
        *[
            line((329.4, 217.8 + 26.6 * row, 341.0, 232.2 + 26.6 * row), f"{60 - 10 * row}", 7, 10.5)
            for row in range(6)
        ],
        line((339.2, 382.2, 521.7, 396.6), "0 10 20 30 40 50 60 70", 8, 10.5),
        line((499.0, 392.1, 534.5, 408.9), "θ 3Lab [ ]°", 8, 8.5),
        line((307.3, 420.4, 538.6, 432.3), "Figura 10: Cinemática de la reacción 11Li(d,t)10Li", 9, 10.7),
        line((307.3, 435.8, 538.6, 445.7), "para energía incidente de 7.5 MeV/A, donde se mues-", 9, 10.9),
        line(
            (307.3, 451.7, 538.6, 456.9), "tra la energía cinética del tritio (izquierda) frente su", 9, 10.9
        ),
        line((307.3, 465.2, 381.6, 470.5), "ángulo de salida.", 9, 10.9),
        *[line((56.7, 535.0 + 14.5 * row, 538.6, 546.0 + 14.5 * row), prose, 10, 12.0) for row in range(16)],
    ]
    chart = [
        Graphic(Box(341.7, 206.5, 342.3, 384.1), "path"),
        Graphic(Box(341.7, 383.5, 531.0, 384.1), "path"),
        Graphic(Box(350.0, 215.0, 520.0, 370.0), "path"),
    ]
    fraction_bar = Graphic(Box(130.2, 270.5, 142.5, 271.0), "path")
    regions = pair_regions(lines, [*chart, fraction_bar], Box(0, 0, 595.3, 841.9), TextStats(12.0, 481.9))
    (item,) = regions.items
    assert item.box == Box(310.0, 206.3, 534.5, 408.9)


def test_a_picture_reaching_into_or_through_its_caption_ends_where_the_caption_starts() -> None:
    stats = TextStats(10.0, 430.0)
    caption = [
        line(
            (85, 710, 493, 723),
            "Figure 2. Résultat de l'élévation de la surface libre pour la simulation de",
            20,
            12.0,
        ),
        line(
            (85, 726, 495, 740),
            "référence (Hm0=2 m, Tp=10,3 s, Dir=200°N, Etal=25° Niveau d'eau mi-marée",
            20,
            12.0,
        ),
    ]
    into = pair_regions(caption, [Graphic(Box(157, 471, 438, 731), "image")], PAGE, stats)
    (item,) = into.items
    assert item.box == Box(157, 471, 438, 709.5)
    legend = [
        line(
            (309, 611, 536, 620),
            "Figure 2. WST-1 cell proliferation assay (a) and live/dead (green/red)",
            30,
            8.0,
        ),
        line(
            (309, 622, 536, 631),
            "cell staining of the cultured cells after three days in the chip, with",
            30,
            8.0,
        ),
        line(
            (309, 633, 536, 642),
            "the bioreactor supplied with oxygen through the membrane under it (b)",
            30,
            8.0,
        ),
        line(
            (309, 644, 536, 653),
            "and without it (c), scale bars showing one hundred micrometres each",
            30,
            8.0,
        ),
        line((309, 655, 450, 664), "in all of the panels of the figure.", 30, 8.0),
    ]
    through = pair_regions(legend, [Graphic(Box(309, 85, 536, 652), "image")], PAGE, TextStats(9.0, 230.0))
    (item,) = through.items
    assert item.box == Box(309, 85, 536, 610.5)


def test_a_caption_stops_at_the_header_of_a_short_ruled_table_in_its_block() -> None:
    lines = [
        line((244, 128, 354, 142), "Table 5. AQD Description", 2, 10.0),
        line((187, 140, 410, 154), "Month-Year PM2.5 (µg/m³) NOx (µg/m³) AQI", 2, 10.0),
        line((194, 152, 236, 166), "Jan-2022", 2, 10.0),
    ]
    grid = Box(182, 141, 414, 178)  # three rows of ruled cells, under three times a line's height
    (caption,) = find_captions(lines, [grid], body_size=10.0)
    assert caption.text == "Table 5. AQD Description"


def test_a_legend_hung_or_indented_under_a_short_title_row_is_no_body_text_after_it() -> None:
    from cephalo_ray.extract.caption_continuation import left_room_unused

    title = line((50, 500, 190, 510), "Figure 3. Study area.", 30, 9.0)
    hung = line((92, 511, 290, 521), "The shaded cells mark the plots sampled in both", 30, 9.0)
    indented = line((62, 511, 290, 521), "The shaded cells mark the plots sampled in both", 31, 9.0)
    centred = line((109, 397, 236, 409), "图１　多维统一标识体系框架", 40, 9.7)
    paragraph = line((78, 412, 288, 424), "服务层针对上层新型多样的网络应用，基于多维", 42, 9.7)
    assert not left_room_unused([title, hung], [0], hung)
    assert not left_room_unused([title, indented], [0], indented)
    assert left_room_unused([centred, paragraph], [0], paragraph)


def test_words_highlighted_on_two_caption_lines_do_not_stop_the_caption() -> None:
    lines = [
        line(
            (54, 247, 560, 256),
            "Figure 1: Dissecting an expository writing piece. In this example, the writing",
            16,
            9.0,
        ),
        line(
            (53, 258, 558, 267),
            "contains summaries of relevant previous work, and it also elects to group several",
            16,
            9.0,
        ),
        line(
            (54, 269, 558, 278),
            "papers and reconcile different findings under a shared framework, to conclude.",
            16,
            9.0,
        ),
    ]
    highlights = Box(53, 257.7, 337, 278.3)  # marks behind some words of the second and third lines
    (caption,) = find_captions(lines, [highlights], body_size=10.0)
    assert caption.text.endswith("under a shared framework, to conclude.")


def test_a_footnote_under_its_separator_rule_is_no_part_of_the_figure_above() -> None:
    stats = TextStats(12.0, 468.0)
    lines = [
        line(
            (72, 523, 533, 534),
            "Figure 1. Example 3x3 pixel window containing 9 pixels and 12 adjacencies.",
            1,
            10.0,
        ),
        line(
            (72, 661, 540, 671),
            "1 Other aspects of scale are defined by the input dataset, its spatial resolution",
            3,
            10.0,
        ),
        line((72, 673, 237, 684), "and its thematic resolution (image legend).", 3, 10.0),
    ]
    graphics = [Graphic(Box(72, 547, 169, 644), "image"), Graphic(Box(72, 653.5, 216, 654.2), "path")]
    (item,) = pair_regions(lines, graphics, PAGE, stats).items
    assert item.box == Box(72, 547, 169, 644)


def test_a_title_sentence_under_a_bold_label_keeps_the_legend_of_its_block() -> None:
    # a political-science journal: captions in the body's font and width, the label alone in bold; the
    # title is a sentence of its own, and the legend under it sits at the caption's own line pitch in
    # the caption's block, while the body's paragraphs are blocks of their own
    lines = [
        typeset(
            (127.4, 590.5, 486.1, 601.5), "Figure 2. Turnout and labor vote share across state", 15, 10.9
        ),
        typeset((127.4, 605.7, 189.8, 615.5), "(1910--1950).", 15, 10.9),
        typeset((127.4, 619.6, 486.0, 629.4), "The graph presents the level of voter turnout (top", 15, 10.9),
        typeset((127.4, 633.5, 360.6, 643.4), "panel) in every election.", 15, 10.9),
        typeset((127.4, 661.4, 486.1, 671.2), "Body text resumes in a paragraph of its own block.", 16, 10.9),
    ]
    (caption,) = find_captions(lines, body_size=10.9)
    assert caption.text.endswith("(top panel) in every election.")
    # the same title followed, a paragraph's space below, by body text written into its block
    spaced = [*lines[:2], replace(lines[2], box=Box(127.4, 625.0, 486.0, 634.8))]
    (caption,) = find_captions(spaced, body_size=10.9)
    assert caption.text == "Figure 2. Turnout and labor vote share across state (1910--1950)."


def test_stacked_figures_captioned_above_each_keep_their_own_captions() -> None:
    # a one-column proceedings page: two charts stacked, each under its caption; the second caption,
    # between the charts, is nearer the chart above it, yet that chart is the first caption's only one
    body = [
        line(
            (134.8, 393.3 + 12 * row, 480.6, 402.2 + 12 * row),
            "Body prose of the page goes on here.",
            40,
            10.0,
        )
        for row in range(8)
    ]
    lines = [
        typeset(
            (134.8, 112.1, 480.6, 120.1), "Fig. 3. PageRank on SwetoDblp citations, 22 387 vertices", 0, 9.0
        ),
        typeset((134.8, 123.1, 276.7, 131.0), "connected by 112 303 edges (citations)", 0, 9.0),
        typeset(
            (134.8, 240.8, 480.6, 248.7), "Fig. 4. PageRank on a generated graph with log-normal", 21, 9.0
        ),
        typeset(
            (134.8, 250.0, 480.6, 259.7), "distributed out-degrees (drawn from a standard normal", 21, 9.0
        ),
        typeset(
            (134.8, 262.7, 480.6, 270.6), "distribution). The generated graph has 100 000 vertices.", 21, 9.0
        ),
        *body,
    ]
    charts = [
        Box(144, 137, 300, 233),
        Box(312, 137, 468, 233),
        Box(144, 277, 300, 373),
        Box(312, 277, 468, 373),
    ]
    graphics = [Graphic(chart, "path") for chart in charts]
    items = pair_regions(lines, graphics, PAGE, TextStats(10.0, 346.0)).items
    assert [(item.caption.label.label if item.caption else None, item.box) for item in items] == [
        ("Figure 3", Box(144, 137, 468, 233)),
        ("Figure 4", Box(144, 277, 468, 373)),
    ]


def test_a_caption_stops_at_the_next_caption_or_heading_its_block_runs_on_into() -> None:
    # a word-processor journal: each caption one bold row, written into one block with the table
    # caption under it, or with the section heading and body text a paragraph's space below
    lines = [
        typeset((72.0, 501.7, 220.1, 512.7), "Figure 4 Workflow of methodology", 5, 10.0),
        typeset((72.0, 524.7, 231.5, 536.3), "Table 1 Equipment and apparatus used", 5, 10.0),
    ]
    figure, table = find_captions(lines, body_size=10.0, line_gap=0.5)
    assert (figure.text, table.text) == (
        "Figure 4 Workflow of methodology",
        "Table 1 Equipment and apparatus used",
    )
    lines = [
        typeset((72.0, 430.4, 259.5, 441.4), "Figure 3 (a) CSA, (b) OPC (43-grade), (c) CA", 2, 10.0),
        typeset((72.0, 453.7, 182.3, 464.7), "3.1Methodology adaption", 2, 10.0),
        line((72.0, 464.8, 290.2, 475.9), "The following methodology is followed (presented in", 2, 10.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=0.5)
    assert caption.text == "Figure 3 (a) CSA, (b) OPC (43-grade), (c) CA"


def test_a_tables_notes_wider_than_its_rules_are_left_out_of_its_box() -> None:
    # a one-column appendix: a small table centred between three rules, and a paragraph of notes
    # under it running the text's full width, in the cells' own block
    from cephalo_ray.extract.item_edges import without_table_notes

    cells = [
        line((175.8, 102.0 + 12 * row, 419.5, 110.0 + 12 * row), "More 31 0.05 200 0.833 45.0% 1.0", 2, 9.0)
        for row in range(4)
    ]
    notes = [
        line(
            (54.6, 163.6, 541.3, 171.8),
            "leaves = num_leaves; lr = learning_rate; n_est = num_boost_round;",
            2,
        ),
        line((54.6, 174.7, 154.8, 182.7), "= F1 score at that threshold.", 2, 9.0),
    ]
    rules = [Graphic(Box(175.8, y, 419.5, y + 0.4), "path") for y in (97.3, 113.4, 162.4)]
    box = without_table_notes(Box(54.6, 97.0, 541.3, 182.7), cells + notes, rules)
    assert box == Box(175.8, 97.3, 419.5, 162.8)


def test_a_tables_notes_ruled_off_under_it_are_left_out_with_their_closing_rule() -> None:
    # a psychiatry journal rules the table's head, its foot and the foot of its notes alike; the
    # notes open with a note letter run into their first word
    from cephalo_ray.extract.item_edges import without_table_notes

    cells = [
        line(
            (61.0, 423.0 + 11 * row, 286.3, 431.0 + 11 * row), "Europe 0.20 (-0.13 to 0.54) 0.17 1.20", 9, 8.0
        )
        for row in range(6)
    ]
    notes = [
        line(
            (53.0, 496.7, 289.9, 507.9), "aGroup was coded as -1 for control, 0 for pregnant, and 1 for", 10
        ),
        line(
            (59.0, 505.6, 288.8, 516.4), "postpartum. There was no evidence of additional heterogeneity", 11
        ),
        line(
            (53.0, 522.2, 273.6, 533.4), "bAsia served as the reference condition in our analysis because", 11
        ),
        line(
            (59.0, 531.1, 267.7, 541.9),
            "it had the lowest prevalence, which simplified the interpretation",
            12,
        ),
    ]
    rules = [Graphic(Box(52.75, y, 289.25, y + 0.5), "path") for y in (419.0, 496.0, 545.5)]
    box = without_table_notes(Box(52.75, 419.0, 290.7, 546.0), cells + notes, rules)
    assert box.y1 == 496.5
    # two rules round rows of cells (a table's body ruled off from its totals) keep both parts
    totals = [line((61.0, 500.0, 286.3, 508.0), "Total 1.38 (0.97 to 1.78) 0.21 6.68", 10, 8.0)]
    ruled = [*rules[:2], Graphic(Box(52.75, 510.0, 289.25, 510.5), "path")]
    assert without_table_notes(Box(52.75, 419.0, 290.7, 510.5), cells + totals, ruled).y1 == 510.5


def test_a_chart_s_row_of_year_ticks_as_wide_as_a_line_of_prose_is_no_prose() -> None:
    # a Word report (Minnesota DNR): a chart's x-axis years written as one line in the body's size,
    # in one block with the y-axis ticks; taken for prose, it stood between the chart and its caption
    from cephalo_ray.extract.page_text import is_body_line

    stats = TextStats(12.0, 467.1, 0.5)
    years = line((133.1, 273.0, 517.9, 285.0), " ".join(str(year) for year in range(1987, 2014, 2)), 7, 12.1)
    tick = line((124.0, 257.0, 131.0, 269.0), "0", 7, 12.1)
    assert not is_body_line(years, [tick, years], stats)
    prose = line(
        (72.0, 309.5, 532.8, 322.8), "We calculated ratios using sex- and age-specific abundance", 8, 12.0
    )
    assert is_body_line(prose, [prose], stats)


def test_a_row_of_panel_letters_in_a_paragraphs_block_is_no_prose() -> None:
    # a word-processor page wrote the letters under three pictures into the block of the body text
    # below them: the row is the figure's, and its caption, right under it, still takes the figure
    from cephalo_ray.extract.page_text import is_body_line

    stats = TextStats(10.0, 218.5, 0.5)
    letters = line((143.3, 418.7, 290.5, 429.9), "(a)                    (b)", 2, 10.0)
    paragraph = [
        line(
            (72.0, 464.8 + 11 * row, 290.2, 475.9 + 11 * row),
            "The following methodology is followed in",
            2,
            10.0,
        )
        for row in range(4)
    ]
    assert not is_body_line(letters, [letters, *paragraph], stats)
    assert is_body_line(paragraph[0], [letters, *paragraph], stats)


def test_a_table_row_whose_long_cell_is_a_sentence_is_no_prose() -> None:
    # a landscape table without row rules: each row is one block of cells (citation, a sentence
    # describing the system, the method), and the sentence cell is wider than the body's column
    from cephalo_ray.extract.page_text import is_body_line

    stats = TextStats(10.0, 228.1, 2.3)
    row = [
        line((88.3, 140.3, 168.0, 149.0), "Snow and Snow 1972", 30, 9.0),
        line(
            (212.3, 140.3, 582.7, 149.0),
            "Bill morphology and niche partitioning of nine hummingbird species in the Arima Valley",
            30,
            9.0,
        ),
        line((629.5, 140.3, 669.4, 149.0), "Qualitative", 30, 9.0),
    ]
    assert not any(is_body_line(cell, row, stats) for cell in row)
    # a paragraph's line that inline math broke into two pieces, a thin space apart, is still prose
    broken = [
        line((54.0, 300.0, 250.0, 310.0), "the rate of decay grows with the inverse square of", 12, 10.0),
        line((253.0, 300.0, 282.0, 310.0), "the", 12, 10.0),
    ]
    assert is_body_line(broken[0], broken, stats)


def test_a_table_row_whose_last_cell_runs_on_for_lines_is_no_prose() -> None:
    # a shaded table without column rules (Animal Biodiversity and Conservation): a row is one block
    # of three cells, the last one four lines of the body's size, three of them as wide as a column
    from cephalo_ray.extract.page_text import is_body_line

    stats = TextStats(9.0, 210.0, 1.5)
    row = [
        line((96.4, 299.3, 124.1, 307.6), "Cohort", 16, 9.0),
        line((221.0, 299.3, 257.0, 307.6), "cohort, c", 16, 9.0),
        line((311.7, 299.3, 470.8, 307.6), "Categorical variation between cohorts", 16, 9.0),
        line((311.8, 309.2, 495.5, 317.6), "(batches of individuals released for the first", 16, 9.0),
        line((311.8, 319.2, 476.0, 327.5), "time with a mark on a same occasion)", 16, 9.0),
        line((311.8, 329.3, 413.8, 337.6), '("factor" with K-1 levels)', 16, 9.0),
    ]
    assert not any(is_body_line(cell, row, stats) for cell in row)
    # a word processor wrote a table's last row into one block with the paragraph under the table:
    # the paragraph goes on from the first cell's edge, and is still prose
    cells = [
        line((x0, 473.1, x1, 484.2), text, 16, 12.0)
        for x0, x1, text in ((87.5, 132.3, "Etalement"), (175.5, 192.0, "25°"), (225.1, 241.6, "18°"))
    ]
    paragraph = [
        line(
            (85.1, 551.9 + 16 * row, 513.4, 565.2 + 16 * row),
            "Les résultats obtenus par SWASH ont été traités avec",
            16,
            12.0,
        )
        for row in range(3)
    ]
    assert is_body_line(paragraph[0], [*cells, *paragraph], TextStats(12.0, 428.0, 4.0))
    # a two-column table of terms and their explanations (APA's style, no rules between rows): the
    # term and its explanation stand far apart, the explanation runs on under its own edge
    terms = [
        line((60.0, 155.6, 79.2, 165.2), "Step", 3, 10.0),
        line((271.8, 155.6, 323.8, 165.2), "Explanation", 3, 10.0),
        line((60.0, 167.9, 140.4, 177.6), "Model comparison", 3, 10.0),
        line(
            (271.8, 167.9, 521.6, 177.6),
            "Statistically compare a model with a fixed effect and ran-",
            3,
            10.0,
        ),
        line((271.8, 179.9, 470.7, 189.5), "dom slope to a model with only a fixed effect.", 3, 10.0),
    ]
    assert not any(is_body_line(cell, terms, TextStats(10.0, 233.0, 2.0)) for cell in terms)


def test_a_one_line_caption_at_a_column_foot_stops_short_of_the_edge_and_does_not_go_on() -> None:
    # a word-processor journal: a short bold-label caption ends the left column; the right column
    # opens with the rest of a paragraph, in lower case, in the same size as the caption
    lines = [
        typeset((72.0, 79.7, 290.5, 90.7), "CS as the coarse aggregate, resulting in a substantial", 2, 10.0),
        typeset((72.0, 91.1, 290.4, 102.1), "reduction in the concrete's overall weight without", 2, 10.0),
        typeset((324.1, 79.7, 542.5, 90.7), "to provide insight into the use of CS as coarse", 1, 10.0),
        typeset((324.1, 91.1, 542.4, 102.1), "aggregates. Furthermore, the review also addressed", 1, 10.0),
        typeset((72.0, 696.6, 204.7, 707.6), "Figure 1 Sample (CS) collection", 4, 10.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text == "Figure 1 Sample (CS) collection"
    # a ragged-right caption cut at the column's foot: its next word would not have fitted
    ragged = [
        typeset(
            (66.8, 698.5, 290.8, 709.7), "Figure 1: Cumulative density depends on signal at room.", 22, 8.0
        ),
        typeset(
            (66.8, 708.3, 283.9, 719.0), "The representation of the temperature is discussed. The", 22, 8.0
        ),
        typeset(
            (66.8, 718.1, 275.2, 728.7),
            "variance was estimated from 9 independent measurements on the",
            22,
            8.0,
        ),
        typeset((314.4, 72.3, 541.4, 83.0), "validation set. All models were trained alike.", 1, 8.0),
        typeset(
            (66.8, 72.3, 291.5, 85.7), "correlation of 44.01 in both hemispheres, a performance", 2, 10.0
        ),
    ]
    (caption,) = find_captions(ragged, body_size=10.0)
    assert caption.text.endswith("measurements on the validation set. All models were trained alike.")


def test_a_caption_set_as_a_tables_shaded_last_row_is_the_tables_and_ends_its_box() -> None:
    # a word-processor journal: a ruled grid whose last row, one shaded cell framed by the grid's
    # side rules, holds the caption on three centred bold lines below the cells
    stats = TextStats(11.0, 243.0, 2.0)
    cells = [("Age", "Yes", "No", "Total"), ("40-50", "32", "41", "73"), ("51-60", "36", "36", "72")]
    cells += [(">65", "13", "22", "35"), ("Total", "81", "99", "180")]
    lines = [
        typeset((41.7, 148.6, 284.8, 162.9), "Insignificant association was seen between age", 9, 11.0),
        typeset((41.7, 161.8, 284.8, 176.1), "of patients and frequency of dyslipidemia i.e.", 9, 11.0),
    ]
    for top, texts in zip((210.8, 229.7, 242.3, 254.9, 267.5), cells, strict=True):
        for column, text in enumerate(texts):
            x = 47.6 + 62.5 * column
            lines.append(TextLine(Box(x, top, x + 22, top + 11.7), text, 9.0, top < 211, 13))
    caption = [
        "Table-I. Dyslipidemia among Type 2 Diabetic Patients",
        "stratified for age of patients",
        "Chi-Square Test= 1.640 - p-value=0.440",
    ]
    for row, text in enumerate(caption):
        box = Box(49.5 + 25 * row, 281.0 + 10.8 * row, 277.1 - 25 * row, 292.9 + 10.8 * row)
        lines.append(TextLine(box, text, 9.0, True, 14 + min(row, 1)))
    lines.append(
        typeset((41.7, 327.2, 284.8, 341.5), "Although among female patients frequency of", 24, 11.0)
    )
    graphics = [
        Graphic(Box(42.2, 204.2, 281.8, 229.4), "path"),
        Graphic(Box(42.2, 279.8, 281.8, 315.8), "path"),
    ]
    graphics += [
        Graphic(Box(41.2, y, 282.8, y + 1.0), "path")
        for y in (203.7, 228.9, 241.5, 254.1, 266.7, 279.3, 315.3)
    ]
    for top, bottom in ((204.2, 229.4), (229.4, 242.0), (242.0, 254.6), (254.6, 267.2), (267.2, 279.8)):
        graphics += [Graphic(Box(x, top, x + 1.0, bottom), "path") for x in (41.7, 99.0, 161.5, 219.2, 281.3)]
    graphics += [Graphic(Box(x, 279.8, x + 1.0, 315.8), "path") for x in (41.7, 281.3)]  # the caption's cell
    (item,) = pair_regions(lines, graphics, PAGE, stats).items
    assert item.caption is not None and item.caption.text == " ".join(caption)
    assert item.box.y0 < 205 and 278 < item.box.y1 < 281


def test_a_short_caption_set_in_a_grids_first_row_from_its_left_edge_is_the_tables() -> None:
    # J. Clin. Hypertension: a journal's only table, "Table." and its title in the first row of a
    # fully ruled grid, the row's text far shorter than the grid is wide
    stats = TextStats(10.0, 156.0, 0.0)
    lines = [typeset((63.3, 72.8, 236.6, 84.8), "Table. Baseline Characteristics of Study Patients", 1, 8.1)]
    rows = (86.5, 100.2, 113.9, 127.6, 141.3)
    for top in rows:
        for column, x in enumerate((63.0, 188.0, 262.0, 329.0, 396.0, 463.0)):
            text = "Characteristic" if column == 0 else f"{top / 7 + column:.1f}"
            lines.append(TextLine(Box(x, top + 1, x + 40, top + 11), text, 8.1, False, 2 + column))
    graphics = [
        Graphic(Box(60.0, y - 0.3, 547.2, y + 0.3), "path") for y in (72.2, 86.0, *[r + 13.2 for r in rows])
    ]
    graphics += [
        Graphic(Box(x - 0.3, 72.2, x + 0.3, 85.2), "path") for x in (60.0, 546.9)
    ]  # the caption's row
    for x in (60.0, 184.9, 258.7, 325.7, 392.7, 459.8, 547.2):
        graphics.append(Graphic(Box(x - 0.3, 86.0, x + 0.3, rows[-1] + 13.2), "path"))
    (item,) = pair_regions(lines, graphics, PAGE, stats).items
    assert item.kind == "table" and item.caption is not None and item.caption.label.label == "Table"
    assert 85 < item.box.y0 < 88


def test_a_legend_under_a_caption_on_its_own_tinted_panel_is_the_captions() -> None:
    # a medical journal prints each caption on a tinted panel under its table, the abbreviations
    # in smaller type under the caption inside the same panel
    from cephalo_ray.extract.caption_blocks import with_panel_legend

    lines = [
        line(
            (72.9, 150.3, 481.0, 161.1), "TABLE 2: Baseline laboratory parameters of elderly patients", 4, 9.6
        ),
        line(
            (72.9, 168.1, 517.4, 175.4),
            "GGT; Gamma-glutamyl transferase, ESR; erythrocyte sedimentation rate,",
            5,
            6.6,
        ),
        line(
            (72.9, 176.5, 516.6, 183.8),
            "lymphocyte ratio, RBC; red blood cell, RDW; red cell distribution width",
            5,
            6.6,
        ),
        line((72.9, 184.9, 285.0, 192.2), "normalized ratio, LDH; lactate dehydrogenase", 5, 6.6),
        line(
            (183.3, 224.9, 495.9, 234.2),
            "BUN (p=0.013), LDH (p=0.014), LDH/albumin (p <0.001), BUN/albumin",
            6,
            7.2,
        ),
    ]
    (caption,) = find_captions(lines, body_size=7.0)
    panel = Box(66, 140, 530, 214)
    legend = with_panel_legend(caption, lines, [Box(66, 57, 530, 139), panel])
    assert legend.text.endswith("normalized ratio, LDH; lactate dehydrogenase")
    assert legend.box.y1 == 192.2
    # a frame round a figure and its caption holds a drawing: its text is the figure's
    chart = Box(100, 175, 300, 200)
    assert with_panel_legend(caption, lines, [panel, chart]) == caption


def test_a_caption_printed_again_in_english_under_its_own_language_is_one_caption() -> None:
    # an IPSJ technical report: a Japanese caption line over its English translation, whose bold
    # label stands out to the left of the line above
    lines = [
        line((346.5, 229.7, 362.6, 237.6), "図8", 30, 7.8),
        line((370.4, 229.9, 510.7, 237.4), "スーパータスクとサブタスクの多重関係", 30, 7.8),
        typeset((318.2, 242.6, 343.2, 249.8), "Fig. 8", 31, 8.1),
        line((351.0, 242.6, 538.9, 249.8), "Multiple relationships of super task and sub tasks", 31, 8.1),
        line((318.2, 262.0, 538.9, 271.2), "本研究では，サブタスクの関係を以下のように定義する．", 32, 9.2),
    ]
    (caption,) = find_captions(lines, body_size=9.2, line_gap=3.5)
    assert (
        caption.text
        == "図8 スーパータスクとサブタスクの多重関係 Fig. 8 Multiple relationships of super task and sub tasks"
    )
    # another item's caption right under it is no translation
    other = [*lines[:2], typeset((318.2, 242.6, 343.2, 249.8), "Fig. 9", 31, 8.1), *lines[3:]]
    assert [caption.label.label for caption in find_captions(other, body_size=9.2, line_gap=3.5)] == [
        "Figure 8",
        "Figure 9",
    ]


def test_a_bold_caption_in_the_paragraph_s_block_opens_and_keeps_its_force_justified_last_line() -> None:
    # a Word pharmacy journal: the caption follows the paragraph in its block with no space, in bold,
    # and its last line is justified to both edges ("modified", a wide space, "balance.")
    lines = [
        line(
            (72.0, 92.7, 290.2, 102.7),
            "using a balance. The weight needed to pull the tablet was the",
            1,
            9.0,
        ),
        line((72.0, 103.2, 250.2, 113.2), "required to detach the tablet from the membrane.", 1, 9.0),
        typeset((72.0, 113.8, 290.2, 123.8), "Figure 1 : Ex vivo bio adhesion using a physical", 1, 9.0),
        TextLine(Box(72.0, 124.1, 108.2, 134.1), "modified", 9.0, True, 1),
        TextLine(Box(256.2, 121.4, 291.0, 134.7), "balance.", 9.0, True, 1),
    ]
    (caption,) = find_captions(lines, body_size=9.0, line_gap=0.36)
    assert caption.text == "Figure 1 : Ex vivo bio adhesion using a physical modified balance."
    # after a paragraph's short last line, unfinished by a full stop, too
    table = [
        line(
            (72.0, 545.6, 290.1, 555.6),
            "Stability of the optimized batch was studied for one month at",
            7,
            9.0,
        ),
        line((72.0, 555.8, 227.9, 565.8), "Stability study of optimized batch BEV 5", 7, 9.0),
        typeset((72.0, 566.4, 267.6, 576.3), "Table 5 : Stability study of optimized batch BEV 5", 7, 9.0),
    ]
    (caption,) = find_captions(table, body_size=9.0, line_gap=0.36)
    assert caption.label.label == "Table 5"
    # a plain "Figure 1 shows ..." after a sentence is still the paragraph's
    cited = [
        *lines[:2],
        typeset((72.0, 113.8, 290.2, 123.8), "Figure 1 shows the balance used for the", 1, 9.0),
    ]
    assert find_captions(cited, body_size=9.0, line_gap=0.36) == []


def test_a_caption_printed_again_in_spanish_a_blank_row_under_the_english_is_one_caption() -> None:
    # Animal Biodiversity and Conservation: the English caption, a blank row, then its Spanish
    # translation under its own label word, both in the caption's size inside the table's panel
    lines = [
        line(
            (96.4, 571.4, 513.0, 579.8),
            "Table 1. Parameterizations of multistate models. See text for",
            40,
            9.0,
        ),
        line((96.4, 582.2, 239.6, 590.6), "notation and further explanations.", 40, 9.0),
        line(
            (96.4, 603.7, 513.1, 612.1),
            "Tabla 1. Parametrizaciones de los modelos multiestado. Para",
            41,
            9.0,
        ),
        line(
            (96.4, 614.5, 402.4, 622.9),
            "anotaciones y más detalles al respecto, consultar el texto.",
            41,
            9.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=9.0, line_gap=2.4)
    assert caption.text.startswith("Table 1. Parameterizations")
    assert caption.text.endswith("consultar el texto.")


def test_a_caption_printed_again_in_spanish_under_the_same_label_word_is_one_caption() -> None:
    # Animal Biodiversity and Conservation: "Fig. 1." opens both languages; only the words tell
    english = line(
        (82.2, 338.3, 361.2, 346.6),
        'Fig. 1. Selection of time dependent models in the menu "Models".',
        60,
        9.0,
    )
    spanish = line(
        (82.2, 359.8, 421.9, 368.1),
        'Fig. 1. Selección de los modelos dependientes del tiempo en el menú "Models".',
        61,
        9.0,
    )
    (caption,) = find_captions([english, spanish], body_size=9.5, line_gap=2.4)
    assert caption.text.endswith('Selección de los modelos dependientes del tiempo en el menú "Models".')
    # the next sub-figure's caption in the same language is a caption of its own (an IUPAC report)
    first = line(
        (70.8, 644.2, 558.3, 657.8),
        "Figure VIII.1a. A schematic X-ray level diagram. Non-diagram levels and",
        70,
        12.0,
    )
    second = line(
        (70.8, 676.1, 558.3, 689.8),
        "Figure VIII.1b. The corresponding one-electron energy level diagram with the",
        71,
        12.0,
    )
    assert len(find_captions([first, second], body_size=12.0, line_gap=2.0)) == 2


def test_a_caption_row_opening_with_a_cited_label_goes_on_though_math_makes_the_rows_overlap() -> None:
    # a thesis (TU Delft): "... using the multi-cluster partitioning" + "Algorithm 8. The left ...";
    # the math on the first row makes its box reach 2 pt into the next row's
    lines = [
        typeset(
            (76.8, 347.1, 518.5, 358.8),
            "Figure 6.1: Partition of the eigenspectrum σ(Tm) into clusters using the multi-cluster partitioning",
            50,
            8.0,
        ),
        line(
            (74.2, 356.7, 520.8, 369.8),
            "Algorithm 8. The left and right columns correspond to coarse meshes and the",
            50,
            7.9,
        ),
        line((74.4, 366.2, 520.9, 379.2), "rows to the coefficient functions respectively.", 50, 7.9),
        line(
            (74.4, 400.4, 520.9, 413.2),
            "We now turn to the bounds of the iteration count in the multi-cluster case.",
            51,
            10.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=2.0)
    assert caption.label.label == "Figure 6.1"
    assert caption.text.endswith(
        "Algorithm 8. The left and right columns correspond to coarse meshes and the rows to the coefficient functions respectively."
    )


def test_a_subscript_hanging_just_under_its_row_keeps_the_caption_going_and_reads_in_place() -> None:
    # an ATLAS preprint: "E^miss_T", its "T" written apart, just clear of the row's box
    lines = [
        line(
            (76.4, 423.6, 533.0, 428.1), "Figure 15: The systematic uncertainties are related to the", 5, 10.0
        ),
        line((76.4, 433.1, 280.0, 440.1), "jet energy scale/resolution, the Emiss", 5, 10.1),
        line((266.2, 440.3, 270.7, 443.6), "T", 6, 7.3),
        line((283.6, 435.5, 533.0, 440.1), "scale and resolution, the electron and muon scale,", 7, 10.1),
        line(
            (76.4, 446.6, 533.0, 452.1), "and efficiency and the normalization of small backgrounds.", 8, 10.0
        ),
    ]
    (caption,) = find_captions(lines, body_size=11.0, line_gap=8.6)
    assert caption.text == (
        "Figure 15: The systematic uncertainties are related to the jet energy scale/resolution, the Emiss "
        "T scale and resolution, the electron and muon scale, and efficiency and the normalization of "
        "small backgrounds."
    )
    # a table's header cell as short, right under a caption's last row, has its row's other cells
    # beside it: it is no script (World Bank working paper)
    table = [
        line(
            (72.0, 68.5, 540.0, 84.5),
            "Table 1: Comparison of Major Features of Imputation Methods Used in",
            1,
            12.0,
        ),
        line((72.0, 84.5, 293.4, 100.5), "Recent Studies in Economics and Statistics", 1, 12.0),
        line((78.0, 100.0, 89.0, 111.9), "No", 2, 9.0),
        line((141.8, 100.0, 175.8, 111.9), "Features", 3, 9.0),
        line((280.9, 100.0, 322.6, 111.9), "Economics", 4, 9.0),
    ]
    (caption,) = find_captions(table, body_size=12.0, line_gap=4.0)
    assert caption.text.endswith("Recent Studies in Economics and Statistics")


def test_a_subscript_ending_a_row_is_no_last_line_the_caption_stops_at() -> None:
    # Biophysical Journal: a dotted "C" and its subscript "0" end a row; the next row reads on from
    # the row's text, not from the subscript's tiny size
    lines = [
        line(
            (383.4, 126.6, 549.6, 136.0),
            "FIGURE 9 Diagrams at different values of the tension, all at",
            1,
            7.9,
        ),
        line((383.4, 137.5, 549.6, 144.7), "the lowest considered rate of spontaneous curvature", 1, 8.0),
        line((383.4, 144.5, 388.7, 154.4), "_C", 2, 8.0),
        line((388.6, 143.3, 391.4, 148.9), "0", 3, 5.6),
        line((388.6, 147.4, 549.6, 156.2), "0. The shaded areas of the diagrams are not acces-", 3, 7.9),
        line((383.4, 157.4, 549.6, 164.6), "sible with our numerical framework.", 3, 8.0),
    ]
    (caption,) = find_captions(lines, body_size=9.0, line_gap=2.5)
    assert caption.text.endswith("not accessible with our numerical framework.")


def test_a_captions_centred_last_row_set_a_little_smaller_still_belongs_to_it() -> None:
    # Metallurgical and Materials Transactions B (2001): the font matrix scales the last row to 8.3 pt
    lines = [
        typeset((317.4, 324.3, 353.0, 336.8), "Table VI.", 1, 8.96),
        typeset((361.9, 324.3, 550.2, 336.8), "Equilibrium between Ca and Iron Melts at 1873", 1, 8.96),
        typeset((387.3, 334.3, 480.3, 346.7), "K in a Sealed System[35]", 2, 8.34),
        line((404.8, 356.2, 437.6, 368.1), "Fe Phase", 3, 8.96),
        line((469.5, 352.2, 523.7, 364.1), "Ca Phase (Pct)", 3, 8.96),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=-2.3)
    assert caption.text == "Table VI. Equilibrium between Ca and Iron Melts at 1873 K in a Sealed System[35]"


def test_a_pseudocode_label_opens_a_caption() -> None:
    # a thesis numbering its listings as "Pseudocode 4.1", in a ruled float like an algorithm's
    label = parse_caption_start("Pseudocode 4.1: A pseudocode for converting labels of a sentence")
    assert label is not None and (label.kind, label.label) == ("figure", "Pseudocode 4.1")


def test_a_title_centred_under_a_label_set_flush_right_is_the_captions() -> None:
    # Russian standard (GOST) tables: "Таблица 1.1" flush right, its bold title centred under it
    lines = [
        line(
            (72.0, 150.0, 538.6, 162.0), "Активационная функция задаёт выход нейрона по его входу.", 1, 12.0
        ),
        line((478.5, 172.8, 538.6, 183.7), "Таблица 1.1", 2, 12.0),
        TextLine(Box(206.9, 194.7, 416.7, 205.4), "Популярные активационные функции", 12.0, True, 3),
        line((166.6, 226.5, 214.2, 237.4), "Название", 4, 12.0),
        line((291.2, 226.5, 337.1, 237.4), "Функция", 5, 12.0),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=7.2)
    assert caption.text == "Таблица 1.1 Популярные активационные функции"
    # a label set off to the right of a figure's column keeps clear of the prose under the column
    # beside it (a power-electronics journal: "Рис. 3" bold, the body line in another size)
    beside = [
        TextLine(Box(228.0, 724.6, 250.9, 732.5), "Рис. 3", 7.4, True, 1),
        line((36.2, 735.2, 78.6, 743.8), "го момента", 2, 8.8),
    ]
    (caption,) = find_captions(beside, body_size=8.8, line_gap=1.5)
    assert caption.text == "Рис. 3"


def test_a_line_naming_the_source_under_a_caption_is_no_part_of_it() -> None:
    # a Word thesis: "Source:" in bold opens the line under the table's caption, in the same size
    lines = [
        line((85.1, 291.7, 269.9, 305.1), "Table 3.4: Performance Measures", 1, 12.0),
        TextLine(
            Box(85.1, 305.5, 474.5, 318.9),
            "Source: Benchmarking state-of-the-art classification algorithms for credit",
            12.0,
            True,
            1,
        ),
        line((85.1, 320.4, 377.9, 333.8), "scoring: An update of research (Lessman et al., 2015).", 1, 12.0),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=2.0)
    assert caption.text == "Table 3.4: Performance Measures"


def test_a_spanish_journals_abbreviated_source_line_ends_the_caption() -> None:
    # (a geography journal from Word: "Fte: Elaboración propia ..." centred under the bold caption)
    lines = [
        line((134.7, 589.6, 498.6, 602.1), "Figura 1: Localización del área de estudio.", 1, 11.0),
        line(
            (170.2, 603.0, 462.8, 614.6), "Fte: Elaboración propia a partir de cartografía histórica.", 1, 9.0
        ),
    ]
    (caption,) = find_captions(lines, body_size=11.0, line_gap=2.0)
    assert caption.text == "Figura 1: Localización del área de estudio."


def test_a_bold_captions_rows_set_like_a_paragraph_go_on_to_its_short_last_row() -> None:
    # (a geography journal: the bold caption's first row set in like a paragraph's, its last row
    # back at the left edge and ending short; both rows in one block)
    first = TextLine(
        Box(120.5, 122.5, 513.0, 134.8),
        "Tabla 5: Valores resultantes del proceso de georreferenciación y cuadro resumen",
        11.0,
        True,
        2,
        bold=True,
    )
    last = TextLine(
        Box(85.1, 135.3, 475.7, 147.5),
        "del proceso de gerreferenciación con Qgis para los puntos de control de la figura 2.",
        11.0,
        True,
        2,
        bold=True,
    )
    (caption,) = find_captions([first, last], body_size=11.0, line_gap=0.4)
    assert caption.text.endswith("de la figura 2.")
    # (a heading in bold in a block of its own at the column's edge still ends the caption)
    heading = replace(last, block=3, text="3. Resultados del proceso", box=Box(85.1, 135.3, 230.0, 147.5))
    (caption,) = find_captions([first, heading], body_size=11.0, line_gap=0.4)
    assert caption.text.endswith("cuadro resumen")


def test_a_centred_last_row_one_step_lower_goes_on_though_the_row_above_reaches_into_it() -> None:
    # Scientia Marina: "L∞" makes a row's box taller; the centred last row's box starts inside it,
    # one of the caption's own steps (8.5 pt) below the row's top
    lines = [
        line(
            (300.5, 496.3, 532.2, 505.8),
            "Fig. 3. – Length frequency distribution (bars) of females (a) and",
            1,
            8.5,
        ),
        line(
            (300.5, 504.8, 532.2, 514.3),
            "males (b) of Palaemon elegans with seasonal von Bertalanffy",
            1,
            8.5,
        ),
        line(
            (300.5, 513.3, 532.2, 522.8),
            "growth curves (lines) superimposed. The estimated seasonal von",
            1,
            8.5,
        ),
        line(
            (300.5, 521.8, 532.2, 533.6),
            "Bertalanffy growth parameters were L∞ (mm) = 41.083, K (year-1)",
            1,
            8.5,
        ),
        line(
            (300.5, 530.3, 532.2, 541.7),
            "= 1.654, t0 (year) = -0.600, WP = 0.172, and C = 0.586 for males",
            1,
            8.5,
        ),
        line(
            (300.5, 538.8, 532.2, 550.6),
            "and L∞ (mm) = 47.768, K (year-1) = 1.115, t0 (year) = -0.990, WP =",
            1,
            8.3,
        ),
        line((358.1, 547.3, 472.4, 556.8), "0.548, and C = 0.904 for females.", 2, 8.5),
    ]
    (caption,) = find_captions(lines, body_size=9.5, line_gap=1.0)
    assert caption.text.endswith("WP = 0.548, and C = 0.904 for females.")


def test_the_rest_of_a_row_a_script_broke_off_goes_on_where_the_row_ends() -> None:
    # Paleobiology: "σ²" then its subscript "step" and the rest of the row written as a line of
    # another block, starting exactly where the row's text ends (at the column's right so far)
    lines = [
        line((91.0, 444.1, 124.5, 451.8), "FIGURE 4.", 12, 6.5),
        line((132.7, 443.3, 250.4, 451.8), "The sampling distribution of \ufffd2", 12, 7.7),
        line((307.0, 438.0, 511.2, 447.7), "zero if there is less difference among adjacent", 13, 9.7),
        line((307.0, 450.0, 511.1, 459.7), "means than would be expected by sampling", 13, 9.7),
        line((250.4, 444.1, 295.1, 453.4), "step when es-", 14, 6.6),
        line((91.0, 453.1, 295.1, 460.8), "timated according to the maximum-likelihood method.", 14, 7.8),
    ]
    (caption,) = find_captions(lines, body_size=9.7, line_gap=2.3)
    assert caption.text.endswith("\ufffd2 step when estimated according to the maximum-likelihood method.")


def test_a_tab_between_a_labels_number_and_its_title_opens_a_caption() -> None:
    # a WHO guideline set in Word: "Fig. 2", a tab stop, "Framework for analysis", in the body font
    label = parse_caption_start("Fig. 2 \tFramework for analysis")
    assert label is not None and label.label == "Figure 2"
    assert parse_caption_start("Fig. 2 \tshows the framework") is None  # a sentence still is not


def test_chapter_numbers_joined_by_a_hyphen_and_the_chinese_word_for_algorithm_open_captions() -> None:
    # a Chinese thesis template: "表2-1", "图2-1" and "算法2.1" (the first of chapter 2)
    assert parse_caption_start("表2-1 典型的实验对比表格").label == "Table 2-1"  # type: ignore[union-attr]
    assert parse_caption_start("图2-1 图片插入示例").label == "Figure 2-1"  # type: ignore[union-attr]
    assert parse_caption_start("算法2.1 算法示例1").label == "Algorithm 2.1"  # type: ignore[union-attr]
    assert parse_caption_start("Figure 2-3 shows the data") is None


def test_a_list_of_listings_entry_whose_title_stands_apart_from_its_label_is_no_caption() -> None:
    # a German thesis's list of listings: label, title, dot leader and page number written as pieces,
    # the page number raised off the title's baseline
    lines = [
        line((120.4, 154.6, 170.8, 165.5), "Listing 4.1", 1, 10.9),
        line((201.6, 154.6, 325.8, 165.5), "TSVD Trap Mechanism [7]", 1, 10.6),
        line((335.9, 154.6, 469.5, 165.5), ". . . . . . . . . . . . . . . . .", 1, 10.9),
        line((483.6, 157.1, 489.0, 162.5), "8", 1, 10.9),
        line((120.4, 168.9, 170.8, 179.7), "Listing 4.2", 1, 10.9),
        line(
            (201.6, 168.9, 469.5, 179.7),
            "TSVD Proxy Aufrufe [7] . . . . . . . . . . . . . . . . . . .",
            1,
            10.7,
        ),
        line((483.6, 171.3, 489.0, 176.7), "9", 1, 10.9),
    ]
    assert find_captions(lines, body_size=10.9, line_gap=2.0) == []


def test_two_captions_side_by_side_on_one_row_are_two_captions() -> None:
    # an NTUA thesis: two plots side by side, each caption centred under its own, the second label a
    # few points after the first caption's row ends; each caption's second row under its first
    lines = [
        line((66.8, 741.1, 295.7, 751.7), "Figure 3.2: Voltage alteration overhead from", 42, 12.0),
        line((299.7, 741.1, 528.5, 751.7), "Figure 3.3: Voltage alteration overhead from", 43, 12.0),
        line((140.8, 755.5, 282.0, 766.2), "divider three to divider two", 44, 12.0),
        line((373.7, 755.5, 514.8, 766.2), "divider two to divider three", 45, 12.0),
    ]
    captions = find_captions(lines, body_size=12.0, line_gap=13.3)
    assert [caption.text for caption in captions] == [
        "Figure 3.2: Voltage alteration overhead from divider three to divider two",
        "Figure 3.3: Voltage alteration overhead from divider two to divider three",
    ]


def test_body_text_the_pdf_put_in_a_captions_block_is_not_the_captions() -> None:
    # Journal of Tsinghua University: the caption in 9 pt, the paragraph after it in the body's
    # 10.6 pt, written into the caption's text block
    lines = [
        line((119.3, 417.7, 238.6, 427.6), "图 3  空间划分信息转换流程", 48, 9.0),
        line((72.0, 431.9, 282.3, 442.4), "建筑性能分析过程涉及的复杂异形构件或异形", 48, 10.6),
        line((51.0, 447.1, 282.3, 458.8), "空间划分边界很少，且gbXML 仅对四边形支持能", 48, 10.6),
    ]
    (caption,) = find_captions(lines, body_size=10.6, line_gap=4.0)
    assert caption.text == "图 3 空间划分信息转换流程"
    # a short piece in the body's size (a roman numeral closing a title) still belongs to it
    imf = [
        line((72.0, 90.0, 540.0, 101.0), "TABLE 12-4. CHANGE IN ENERGY EXPENDITURE SHARES", 1, 9.0),
        line((280.0, 102.0, 300.0, 113.0), "(IV)", 1, 10.6),
    ]
    (caption,) = find_captions(imf, body_size=10.6, line_gap=2.0)
    assert caption.text.endswith("SHARES (IV)")


@pytest.mark.parametrize(
    "after",
    [
        "Shaded measurements fall outside of 2 standard deviations and were not used.",
        "capacity of the concrete is significant when alternative methods are used",
    ],
)
def test_a_centred_caption_keeps_the_wider_note_set_tight_under_it_but_not_the_body_going_on(
    after: str,
) -> None:
    # a workshop report's landscape table: "Table 3. ..." centred, its note a wider centred line
    # right under it in a block of its own; a paragraph carried on from the page before (in lower
    # case) may sit as tight under a Word caption, and is not the caption's
    lines = [
        typeset(
            (252.8, 82.2, 532.4, 91.1),
            "Table 3. Individual difference from workshop average - declination (Min).",
            14,
            7.98,
        ),
        line((191.2, 91.35, 594.0, 100.25), after, 15, 7.98),
        line((145.4, 101.1, 169.8, 110.0), "Obs 1", 16, 7.98),
        line((189.8, 101.1, 214.3, 110.0), "Obs 2", 16, 7.98),
    ]
    grid = [Box(111.6, 100.4, 671.3, 515.8), Box(111.6, 100.4, 671.3, 100.9)]  # the table and its top rule
    (caption,) = find_captions(lines, grid, body_size=7.98, line_gap=1.0)
    if after[0].isupper():
        assert caption.text.endswith("were not used.")
    else:
        assert caption.text.endswith("(Min).")


@pytest.mark.parametrize("italic_after", [True, False])
def test_a_caption_set_in_italics_goes_on_past_a_short_line_but_upright_body_text_does_not_join(
    italic_after: bool,
) -> None:
    # Conservation Biology: a margin caption in italics, in the body's size and block; a sentence
    # ends on a short line and the caption goes on ("Individual species' distribution maps ...")
    rows = [
        "Figure 1. Distribution of Australia's (a)",
        "immigrant and (b) emigrant vertebrate species",
        "in their native ranges.",
        "Individual species' distribution maps",
        "are available from the project site.",
    ]
    widths = [136.0, 136.4, 97.6, 136.4, 120.0]
    lines = [
        TextLine(Box(407.4, 210 + 12 * i, 407.4 + w, 218.6 + 12 * i), text, 10.0, False, 2, italic=True)
        for i, (text, w) in enumerate(zip(rows, widths, strict=True))
    ]
    lines[3] = replace(lines[3], italic=italic_after)
    lines[4] = replace(lines[4], italic=italic_after)
    (caption,) = find_captions(lines, [], body_size=10.0, line_gap=3.2)
    if italic_after:
        assert caption.text.endswith("from the project site.")
    else:
        assert caption.text.endswith("in their native ranges.")


def test_a_stray_full_stop_under_a_finished_caption_is_not_part_of_it() -> None:
    # a CILAMCE paper: an equation object leaves its own "." centred under the caption
    lines = [
        line(
            (148.1, 368.4, 447.2, 378.3),
            "Figure 5. Convergence Profiles at the tunnel roof (point B) - for d = 16R.",
            4,
            9.9,
        ),
        line((294.6, 380.3, 297.1, 389.3), ".", 5, 10.0),
    ]
    (caption,) = find_captions(lines, [], body_size=10.0, line_gap=1.0)
    assert caption.text.endswith("16R.") and len(caption.lines) == 1


def test_a_double_spaced_caption_broken_mid_sentence_goes_on_past_a_row_lowered_by_a_subscript() -> None:
    # a coastal engineering manuscript, double-spaced (16.8 pt between body lines): the caption's
    # second row carries a subscript and stands 22 pt under the first
    lines = [
        typeset(
            (128.9, 502.5, 522.1, 515.4),
            "Figure 4.  Measured and computed wave overtopping rate q and sand overwash",
            5,
            11.9,
        ),
        line((215.4, 537.4, 435.5, 548.3), "rate q for (a) HB, (b) HN and (c) HW tests.", 6, 12.0),
        line((108.0, 600.0, 530.0, 612.0), "The computed rates follow the measured ones closely in", 7, 12.0),
    ]
    (caption,) = find_captions(lines, [], body_size=12.0, line_gap=16.75)
    assert caption.text.endswith("(c) HW tests.")


def test_a_paragraph_opening_with_a_bold_citation_is_no_second_caption_of_that_label() -> None:
    # Thieme sets citations in bold as it sets labels: "▶Tab. 2 stellt die ..." opens a paragraph
    # on the page that holds "▶Tab. 2 Durchschnittliche ..." itself
    caption = TextLine(
        Box(56.0, 80.0, 400.0, 90.0), "▶Tab. 2 Durchschnittliche berichtete Fürsorge", 8.5, True, 3
    )
    citation = [
        TextLine(
            Box(311.8, 262.1, 554.8, 273.4),
            "▶Tab. 2 stellt die durchschnittlichen Ausprägungen",
            9.0,
            True,
            14,
        ),
        TextLine(
            Box(311.8, 274.2, 554.8, 285.1),
            "berichteten mütterlichen und väterlichen Fürsorge",
            9.0,
            False,
            14,
        ),
    ]
    found = find_captions([caption, *citation], [], body_size=9.0, line_gap=1.0)
    assert [c.text for c in found] == ["Tab. 2 Durchschnittliche berichtete Fürsorge"]
    # alone on its page, a bold label with the title in lower case is a caption still
    (alone,) = find_captions(citation, [], body_size=9.0, line_gap=1.0)
    assert alone.label.label == "Table 2"


def test_a_tables_continued_head_is_no_rival_of_its_caption() -> None:
    # a bold "Table 2 ask Items" and, in the other column, the same table's "Table 2 (continued)"
    caption = TextLine(Box(51.0, 400.0, 250.0, 408.0), "Table 2 ask Items", 8.0, True, 3)
    continued = TextLine(Box(306.1, 378.8, 375.6, 387.4), "Table 2 (continued)", 8.0, True, 7)
    found = find_captions([continued, caption], [], body_size=9.0, line_gap=1.0)
    assert sorted(c.text for c in found) == ["Table 2 (continued)", "Table 2 ask Items"]


def test_a_numbered_heading_a_blank_row_under_a_caption_broken_off_mid_line_is_not_part_of_it() -> None:
    # a geothermal congress paper: a one-line bold caption without a full stop, a blank row, then
    # the next section's numbered heading in capitals, in the same bold face and size
    def bold(box: tuple[float, float, float, float], text: str, block: int) -> TextLine:
        return TextLine(Box(*box), text, 9.0, True, block)

    lines = [
        bold((318.7, 487.1, 491.6, 495.2), "Figure-1: Location Map of Lahendong Field", 7),
        bold((318.7, 506.4, 392.4, 514.5), "2. DISCUSSIONS", 8),
        bold((318.7, 519.7, 474.3, 527.8), "Tectonic Setting of North Arm Sulawesi", 9),
    ]
    (caption,) = find_captions(lines, [], body_size=9.0, line_gap=2.08)
    assert caption.text == "Figure-1: Location Map of Lahendong Field"
    # the same row in the body's words, a blank row under a caption broken off mid-sentence, goes on
    lines[1] = bold((318.7, 506.4, 392.4, 514.5), "of North Sulawesi", 8)
    (caption,) = find_captions(lines[:2], [], body_size=9.0, line_gap=2.08)
    assert caption.text.endswith("Field of North Sulawesi")


def test_a_caption_row_written_word_by_word_goes_on_under_any_of_its_pieces() -> None:
    # an astronomy manuscript, double-spaced and justified: the PDF wrote the caption's first row in
    # pieces, and its second row ("dr1-full.png") lies only under the row's first piece
    lines = [
        TextLine(Box(93.3, 343.7, 116.1, 352.5), "Fig. 1", 10.0, True, 4),
        line((131.0, 343.6, 230.0, 352.6), "The LAMOST DR1", 4, 10.0),
        line((240.2, 343.6, 289.5, 352.6), "skycoverage", 4, 10.0),
        line((299.3, 343.6, 475.9, 352.6), "(http://data.lamost.org/u/img/", 4, 10.0),
        line((93.3, 362.3, 165.5, 370.2), "dr1-full.png", 5, 10.0),  # (a block of its own)
    ]
    (caption,) = find_captions(lines, [], body_size=10.0, line_gap=8.96)
    assert caption.text.endswith("(http://data.lamost.org/u/img/ dr1-full.png")


def test_a_table_caption_between_a_code_listing_and_a_ruled_table_takes_the_table() -> None:
    # a Quarto paper: a tinted cell of code just above the table's caption, the table further below
    stats = TextStats(12.0, 484.0, 2.0)
    body = [
        line(
            (56.7, 275.6 + 15.7 * i, 538.8, 289.3 + 15.7 * i),
            "Soundscapy combines all of these metrics and",
            1,
            12.0,
        )
        for i in range(3)
    ]
    code_rows = ['metric = "loudness_zwtv"', "stats = (5, 50, 'avg', 'max')", "b.mosqito_metric(metric)"]
    code = [
        replace(line((62.7, 345.0 + 14.0 * i, 300.0, 357.0 + 14.0 * i), text, 2, 10.0), mono=True)
        for i, text in enumerate(code_rows)
    ]
    caption = [
        line(
            (64.5, 424.5, 531.0, 438.2),
            "Table 1: Direct output of psychoacoustic metrics calculated by",
            3,
            12.0,
        ),
        line((64.5, 440.2, 115.0, 453.9), "recording.", 3, 12.0),
    ]
    cells = [
        line((x, y, x + 40, y + 11), text, 4 + row)
        for row, (y, texts) in enumerate(
            [(488.0, ("N_5", "N_50", "N_max")), (520.0, ("45.1", "36.8", "47.6"))]
        )
        for x, text in zip((240.0, 310.0, 380.0), texts, strict=True)
    ]
    graphics = [
        Graphic(Box(56.7, 341.2, 538.6, 405.1), "path"),  # the code cell's tint
        *(Graphic(Box(122.3, y, 473.0, y + 0.6), "path") for y in (485.7, 502.0, 558.5)),
    ]
    regions = pair_regions([*body, *code, *caption, *cells], graphics, PAGE, stats)
    (item,) = regions.items
    assert item.kind == "table" and item.box.y0 >= 485.0 and item.box.y1 <= 560.0


def test_a_centred_one_line_caption_ends_where_a_full_width_paragraph_starts_a_little_apart() -> None:
    # a conference paper set solid (its lines' boxes overlap): the centred caption has no full stop,
    # and the body paragraph under it starts 4.5 pt lower, reaching past the caption on both sides
    lines = [
        line(
            (79.8, 692.8, 518.1, 708.9),
            "Figure 5: Yearly variations of radiator and tank temperatures",
            40,
            12.0,
        ),
        line((70.9, 713.4, 527.1, 729.5), "The variation of different temperatures in the network", 40, 12.0),
        line(
            (70.9, 728.1, 527.1, 744.1), "in radiator and water tank temperatures can be followed", 40, 12.0
        ),
    ]
    (caption,) = find_captions(lines, [], body_size=12.0, line_gap=-1.4)
    assert caption.text.endswith("tank temperatures")


def test_an_indented_paragraph_under_a_centred_caption_row_is_the_body() -> None:
    # a Chinese journal, each line a block of its own: the caption is centred in its column, and the
    # next paragraph opens two characters in at the body's spacing, running to the column's edge
    rows = [
        ((79.3, 721.7, 266.2, 733.4), "图７　标识解析映射机制注册功能测试结果", 49),
        ((77.9, 737.0, 287.5, 748.6), "同时，设备Ａ和设备Ｂ向服务层映射服务器Ｓ１", 51),
        ((57.9, 752.1, 287.5, 763.7), "发起设备注册。作为服务提供方，设备Ｂ继续向Ｓ１注", 53),
        ((57.9, 767.3, 287.5, 779.0), "册了高清视频服务。图７（ｃ）中展示了Ｓ１解析Ｂ发送", 55),
    ]
    lines = [line(box, text, block, 9.7) for box, text, block in rows]
    (caption,) = find_captions(lines, [], body_size=9.5, line_gap=3.8)
    assert caption.text == "图７ 标识解析映射机制注册功能测试结果"


def test_a_chart_axis_set_out_in_the_margin_is_kept_where_line_numbers_would_go() -> None:
    # a report's chart reaches left of the text column into the margin: its y-axis labels count down
    # the page, where a review copy's line numbers count up it
    stats = TextStats(10.0, 240.0)
    lines = [
        line((100, 540 + 11 * i, 300, 548 + 11 * i), f"body text line {i} of the page", 11) for i in range(6)
    ]
    ticks = [line((18, 540 + 16 * i, 30, 548 + 16 * i), str(900 - 100 * i), 20 + i) for i in range(6)]
    assert without_margin_text(lines + ticks, PAGE, stats) == lines + ticks
    numbers = [line((80, 540 + 11 * i, 90, 548 + 11 * i), str(31 + i), 30 + i) for i in range(6)]
    assert without_margin_text(lines + numbers, PAGE, stats) == lines


def test_a_caption_without_a_full_stop_ends_over_a_chart_axis_title_and_a_row_of_bar_labels() -> None:
    # a country report: a caption above its chart, no full stop, and a blank row under it; the
    # chart starts with its axis unit over the tick labels, or with labels set over its bars
    caption = line((16.0, 423.7, 152.4, 433.6), "Figure 5.  Indonesian final energy demand", 3, 8.0)
    axis = [
        line((14.7, 443.2, 50.1, 452.2), "1000 Mboe", 5, 7.5),
        line((18.4, 459.1, 29.2, 468.1), "900", 7, 7.5),
        line((18.4, 474.9, 29.2, 483.9), "800", 9, 7.5),
    ]
    (found,) = find_captions([caption, *axis], [], body_size=9.5, line_gap=2.66)
    assert found.text == "Figure 5. Indonesian final energy demand"
    bars = [line((x, 443.2, x + 11.2, 452.2), "Ren", 5 + i, 7.5) for i, x in enumerate((74.2, 176.2, 278.8))]
    (found,) = find_captions([caption, *bars], [], body_size=9.5, line_gap=2.66)
    assert found.text == "Figure 5. Indonesian final energy demand"
    # a caption's own next row, a word or two under it, still goes on
    rest = line((16.0, 443.2, 60.0, 452.2), "by sector", 4, 8.0)
    (found,) = find_captions([caption, rest], [], body_size=9.5, line_gap=2.66)
    assert found.text.endswith("demand by sector")


def test_the_end_of_a_caption_row_the_pdf_wrote_before_the_label_is_read_in_place() -> None:
    # a signal-processing conference paper: a subscript and the rest of the caption's last row and
    # the row under it were written in a block before the caption's own
    lines = [
        line((510.0, 230.4, 559.0, 244.4), "λSURE (green", 27, 7.2),
        line((54.4, 241.3, 81.9, 252.1), "mixed).", 27, 9.0),
        TextLine(
            Box(54.4, 219.1, 559.0, 230.8),
            "Fig. 2: Estimation for single realizations (Top) and MSE over 100 realizations. From left SNR =",
            9.0,
            True,
            28,
        ),
        line(
            (54.4, 230.1, 513.8, 242.0),
            "-1.5dB, 0.4dB and 1.8dB. True signal x (black solid) and x*",
            28,
            8.7,
        ),
    ]
    (caption,) = find_captions(lines, [], body_size=9.0, line_gap=1.0)
    assert caption.text.endswith("and x* λSURE (green mixed).")


def test_a_full_width_chart_pair_under_a_caption_flush_left_in_one_column_is_one_figure() -> None:
    # a two-column report: the caption sits flush left over the left column only, and the figure
    # under it is two charts side by side across both columns, 43 pt apart
    stats = TextStats(9.5, 179.3, 2.66)
    body = [
        line(
            (100.0, 100 + 14 * i, 279.0, 111 + 14 * i), "Body text of the left column runs on and on.", 1, 9.5
        )
        for i in range(8)
    ] + [
        line(
            (318.0, 100 + 14 * i, 497.0, 111 + 14 * i),
            "Body text of the right column runs on and on.",
            2,
            9.5,
        )
        for i in range(20)
    ]
    caption = line((16.0, 423.7, 152.4, 433.6), "Figure 5.  Indonesian final energy demand", 3, 8.0)
    charts = [
        Graphic(Box(14.7, 454.7, 225.4, 640.6), "path"),
        Graphic(Box(268.0, 454.7, 491.9, 640.6), "path"),
    ]
    regions = pair_regions([*body, caption], charts, PAGE, stats)
    (item,) = regions.items
    assert item.box.x0 <= 14.7 and item.box.x1 >= 491.9
    # one chart across both columns under a caption flush left with it: the chart's middle lies past
    # the caption's column, yet it starts where the caption starts
    caption = line(
        (112.0, 437.7, 289.4, 447.6), "Figure 4. Indonesian coal production and consumption", 3, 8.0
    )
    chart = [Graphic(Box(111.8, 464.5, 519.1, 654.8), "path")]
    regions = pair_regions([*body, caption], chart, PAGE, stats)
    (item,) = regions.items
    assert item.box.x1 >= 519.0
    # a caption over the left chart reaching a little over the start of the right one
    caption = line(
        (16.0, 108.0, 270.1, 118.5), "Figure 9. Decomposition of historical emissions, 2000-2010", 3, 8.0
    )
    charts = [
        Graphic(Box(16.1, 125.4, 210.9, 291.4), "path"),
        Graphic(Box(268.1, 126.9, 394.3, 290.7), "path"),
    ]
    # (the right column ends at 506 pt here: the caption stops short of the page's middle + 12 pt)
    lower = [
        replace(
            text,
            box=Box(text.box.x0, text.box.y0 + 260, 506.0 if text.box.x0 > 300 else 279.0, text.box.y1 + 260),
        )
        for text in body
    ]
    regions = pair_regions([*lower, caption], charts, PAGE, stats)
    (item,) = regions.items
    assert item.box.x1 >= 394.3


def test_a_justified_caption_row_of_few_words_spread_evenly_apart_is_read_on() -> None:
    # a Word proceedings caption justified to both edges: its second row holds few words, written
    # one by one the same stretched space apart, from its hanging indent to the caption's right edge
    words = ["Middle:", "Groundwater", "temperature", "with", "a", "3 K", "cooling", "of", "the", "aquifer;"]
    widths = [36.3, 60.8, 55.9, 21.2, 7.5, 17.3, 32.9, 10.8, 15.8, 36.8]
    x, row = 86.8, []
    for word, width in zip(words, widths, strict=True):
        row.append(line((x, 73.2, x + width, 87.0), word, 2, 10.0))
        x += width + 17.3
    lines = [
        line(
            (59.8, 61.7, 538.1, 75.5),
            "Figure 4: Top: Groundwater temperature at equilibrium (without",
            1,
            10.0,
        ),
        *row,
        line((86.8, 84.8, 381.1, 98.6), "Bottom: Temperature difference between the two panels.", 2, 10.0),
    ]
    assert abs(row[-1].box.x1 - 538.1) < 1
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text == (
        "Figure 4: Top: Groundwater temperature at equilibrium (without Middle: Groundwater temperature "
        "with a 3 K cooling of the aquifer; Bottom: Temperature difference between the two panels."
    )
    # a chart's labels over its bars under a caption stand apart by their bars, not evenly
    bars = [
        line((x0, 73.2, x0 + 20, 87.0), f"{x0:.0f}", 2, 10.0) for x0 in (86.8, 140.0, 260.0, 330.0, 518.1)
    ]
    lines = [lines[0], *bars]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text == "Figure 4: Top: Groundwater temperature at equilibrium (without"


def body_column(x0: float, x1: float, y0: float, rows: int, block: int) -> list[TextLine]:
    words = "the weighting was successful at reducing differences in the covariates between groups"
    return [line((x0, y0 + 12 * row, x1, y0 + 12 * row + 10), words, block, 10.0) for row in range(rows)]


def test_a_chart_title_as_wide_as_the_column_over_its_chart_is_no_prose_stopping_the_caption() -> None:
    # a caption above a chart whose bold title runs nearly the column's width, centred over the plot
    stats = TextStats(10.0, 265.0, 2.4)
    lines = [
        typeset(
            (36, 54, 578, 64), "Figure 1. Standardized differences across groups on covariates.", 1, 10.0
        ),
        typeset((253.6, 101.2, 496.7, 111.7), "Balance Before and After Propensity Adjustment", 3, 10.5),
        *body_column(36, 295, 530, 12, 9),
        *body_column(316, 576, 530, 12, 10),
    ]
    plot = [
        Graphic(Box(186.5, 118.9, 542.6, 481.4), "path"),
        Graphic(Box(186.9, 128.5, 542.2, 465.0), "path"),
    ]
    (item,) = pair_regions(lines, plot, PAGE, stats).items
    assert item.caption is not None and item.box.y1 >= 481 and item.box.x0 <= 187
    # a sentence over a figure stays the text's, however centred: it stops the caption's reach
    sentence = replace(lines[1], text="The balance shown here held before and after.", bold_start=False)
    regions = pair_regions([lines[0], sentence, *lines[2:]], plot, PAGE, stats)
    assert not regions.items


def test_a_legend_that_ends_continued_takes_its_rest_from_the_next_column() -> None:
    # a legend too long for the column under its figure goes on at the next column's top under
    # "Fig. 1. (continued)", level with the figure's top: one caption, the figure whole
    stats = TextStats(10.0, 247.0, 1.0)
    legend = "The main features of each experiment. " + " ".join(["Experiment"] * 20) + " 4"
    lines = [
        line((310.5, 67.5, 557.7, 75.5), "Fig. 1. (continued)", 1),
        line((310.5, 77.5, 557.7, 145.8), "exploited a 3-D virtual-reality setting.", 1),
        line((48, 594, 295, 700), f"Fig. 1. {legend}", 2),
        line((240, 702, 295, 710), "(continued)", 2),
        *body_column(310.5, 558, 169, 40, 5),
    ]
    panels = [Graphic(Box(53, 70 + 104 * row, 277, 165 + 104 * row), "image") for row in range(5)]
    regions = pair_regions(lines, panels, PAGE, stats)
    (item,) = regions.items
    assert item.caption is not None and item.caption.text == (
        f"Fig. 1. {legend} exploited a 3-D virtual-reality setting."
    )
    assert item.box.y0 <= 70 and item.box.y1 >= 580 and not regions.unpaired_captions
    # without its rest on the page, a caption ending "(continued)" is a title repeated over the rest
    # of an item begun earlier (a long table's), and heads no item of its own
    alone = [one for one in lines if one.block != 1]
    assert not pair_regions(alone, panels, PAGE, stats).items


def test_a_label_alone_over_its_figure_takes_the_legend_set_under_the_figure() -> None:
    # a review journal's box: "Figure 1" over the picture, a credit line, then the legend in the
    # label's small size under the picture
    stats = TextStats(9.5, 240.0, 2.0)
    lines = [
        typeset((60.9, 487.7, 90.1, 494.7), "Figure 1", 15, 7.5),
        line((422.1, 684.9, 501.0, 690.5), "Current Opinion in Electrochemistry", 16, 5.0),
        line(
            (60.9, 707.5, 558.4, 715.3),
            "Proposed reaction mechanism for CO2RR. Routes are shown for",
            17,
            7.5,
        ),
        line((60.9, 717.0, 221.8, 724.0), "energy pathways from computational studies [4].", 17, 7.5),
        *body_column(60, 290, 60, 30, 3),
    ]
    # the scheme in a frame as wide as the page's text, flush with the label
    scheme = [Graphic(Box(60.7, 496.8, 558.7, 695.7), "path"), Graphic(Box(112, 506, 507, 680), "path")]
    (item,) = pair_regions(lines, scheme, PAGE, stats).items
    assert item.caption is not None and item.caption.text == (
        "Figure 1 Proposed reaction mechanism for CO2RR. Routes are shown for energy pathways from "
        "computational studies [4]."
    )
    # in the body's own size the text under the figure is the body's
    body_sized = [replace(one, size=9.5) if one.size == 7.5 else one for one in lines]
    (item,) = pair_regions(body_sized, scheme, PAGE, stats).items
    assert item.caption is not None and item.caption.text == "Figure 1"


def test_a_label_already_paired_found_again_at_a_page_top_is_a_citation_not_an_item_across_pages() -> None:
    from cephalo_ray.extract.across_pages import pair_across_pages
    from cephalo_ray.extract.captions import CaptionLabel
    from cephalo_ray.extract.geometry import Caption, Item
    from cephalo_ray.extract.regions import PageRegions

    table = CaptionLabel("table", "Table 3")
    # "... are displayed in" ends a page; the next opens "Table 3. The classifier tags ..."
    cited = Caption(Box(85, 60, 510, 70), table, "Table 3. The classifier tags 79 percent.", (0,))
    real = Caption(Box(93, 263, 504, 286), table, "Table 3: Number of usages of be.", (1,))
    footnotes = Item("figure", Box(85, 719, 512, 771), None, "vector", "none")
    before = PageRegions([], [], [footnotes], PAGE.area, PAGE.height)
    after = PageRegions(
        [Item("table", Box(84, 207, 510, 263), real, "vector", "below")], [cited], [], PAGE.area, PAGE.height
    )
    assert [len(items) for items in pair_across_pages([before, after])] == [0, 1]
    # a caption whose label no item has yet still finds its drawing on the page before
    alone = PageRegions([], [cited], [], PAGE.area, PAGE.height)
    assert [len(items) for items in pair_across_pages([before, alone])] == [1, 0]


def test_a_short_line_clear_of_both_text_edges_under_a_picture_opens_a_caption_whatever_its_title() -> None:
    # a Word journal: "Fig. 2 torque balance", plain font, no stop after the number, a title in lower
    # case, set apart under the picture; its box carries white space in front of the words
    stats = TextStats(10.0, 450.0, 1.0)
    body = body_column(72, 526, 60, 6, 1)
    caption = line((108.1, 250.5, 354.7, 262.3), "Fig. 3 required torque at each joint", 2, 10.0)
    after = body_column(72, 526, 275, 6, 2)
    picture = [Graphic(Box(87.7, 149.4, 507.0, 250.56), "image")]
    (item,) = pair_regions([*body, caption, *after], picture, PAGE, stats).items
    assert item.caption is not None and item.caption.text == "Fig. 3 required torque at each joint"
    # the same words as a paragraph's first line, flush with the text's edge, are a sentence
    sentence = replace(caption, box=Box(72, 250.5, 354.7, 262.3))
    assert not pair_regions([*body, sentence, *after], picture, PAGE, stats).items
    # and with no picture next to it, a line set apart so is no caption either
    far = [Graphic(Box(87.7, 80.0, 507.0, 180.0), "image")]
    assert not find_captions([*body, caption, *after], [far[0].box], 10.0, 1.0)
    # a table's cell between two rules, or an acronym that spells a label word, opens nothing
    rules = [Box(87.7, 236.0, 507.0, 236.5), Box(87.7, 270.0, 507.0, 270.5)]
    assert not find_captions([*body, caption, *after], rules, 10.0, 1.0)
    cell = replace(caption, text="MAP 65-90 mm Hg, UO>0.5 mL/kg/hr")
    assert not find_captions([*body, cell, *after], [picture[0].box], 10.0, 1.0)


def test_a_caption_row_the_pdf_wrote_before_its_label_still_ends_the_caption() -> None:
    # a table on a turned page (Edinburgh Journal of Botany): the text layer gives the caption's short
    # last row before the row that opens with the label
    lines = [
        line((43.0, 71.1, 112.1, 79.2), "E. thwaitesii Körn.", 34, 9.0),
        line(
            (43.0, 60.1, 620.3, 68.2),
            "T A B L E. Diagnostic morphological characters of Eriocaulon vamanae sp. nov., E. duthiei Hook.f. and",
            41,
            9.0,
        ),
        line((127.0, 118.8, 207.7, 127.0), "Characters", 42, 9.0),
        line((250.3, 118.8, 341.2, 127.0), "E. vamanae", 42, 9.0),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=4.0)
    assert caption.text.endswith("E. duthiei Hook.f. and E. thwaitesii Körn.")


def test_a_ruled_table_set_right_on_a_figure_keeps_its_rows_and_the_figure_its_drawing() -> None:
    # a TMLR page: a booktabs table under its caption, its bottom rule 5 pt over a chart whose
    # caption is under it; the rule and the chart drew into one cluster, which took the table's rows
    stats = TextStats(10.0, 432.0, 2.0)
    caption = [
        line(
            (90, 140, 522, 150),
            "Table 1: Continual learning metrics for sine regression (10 tasks, 3 seeds).",
            1,
            10.0,
        ),
        line((90, 152, 400, 162), "Best values are highlighted in bold.", 1, 10.0),
    ]
    header = [
        line((x0, 179, x0 + 60, 189), text, 2, 10.0)
        for x0, text in ((90, "Condition"), (200, "Avg MSE"), (300, "BWT"), (400, "FWT"))
    ]
    rows = [
        line((x0, 196 + 12 * row, x0 + 70, 206 + 12 * row), text, 3 + row, 10.0)
        for row in range(4)
        for x0, text in ((90, f"C{row + 1}: Baseline"), (200, "0.0256"), (300, "0.0014"), (400, "0.0000"))
    ]
    chart_caption = line(
        (90, 430, 522, 440),
        "Figure 9: Sine regression (10 tasks, 3 seeds): comparison of conditions.",
        9,
        10.0,
    )
    rules = [Graphic(Box(90, y, 522, y + 0.4), "path") for y in (176.4, 193.6, 246.5)]
    chart = [Graphic(Box(167, 251.9, 445, 413.9), "path")]
    regions = pair_regions([*caption, *header, *rows, chart_caption], [*rules, *chart], PAGE, stats)
    table, figure = sorted(regions.items, key=lambda item: item.box.y0)
    assert table.caption is not None and table.caption.label.label == "Table 1"
    assert table.box.y0 <= 177 and table.box.y1 >= 240
    assert figure.caption is not None and figure.caption.label.label == "Figure 9"
    assert figure.box.y0 >= 250 and figure.box.x0 >= 160


def test_a_bold_label_alone_takes_its_italic_title_a_blank_line_under_it() -> None:
    # APA's style (Meta-Psychology): "Figure 1" in bold under the picture, a blank line, then the
    # title and legend in italics of the body's size
    lines = [
        TextLine(Box(54.0, 263.1, 91.9, 272.8), "Figure 1", 10.0, True, 2),
        TextLine(
            Box(54.0, 287.3, 553.7, 296.7),
            "Examples of different between-person and within-person processes in 5 fictitious people.",
            10.0,
            False,
            3,
            italic=True,
        ),
        TextLine(
            Box(54.0, 299.3, 553.7, 308.6),
            "Lines represent regression lines between social media use and well-being.",
            10.0,
            False,
            3,
            italic=True,
        ),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=2.0)
    assert caption.text.endswith("between social media use and well-being.")
    # an upright paragraph of the body a blank line under the label is not its title
    upright = [lines[0], *(replace(line, italic=False) for line in lines[1:])]
    (caption,) = find_captions(upright, body_size=10.0, line_gap=2.0)
    assert caption.text == "Figure 1"


def test_a_framed_table_of_short_cells_is_no_panel_of_prose() -> None:
    # a society journal frames a small table under a caption of four lines: its rows of letters
    # ("CTCC  a  b") are cells columns apart, not the lines of a sidebar
    from cephalo_ray.extract.clusters import is_text_panel

    frame = Graphic(Box(88.1, 397.0, 236.8, 522.3), "path")
    rows = [("O", "~O"), ("CTCC", "a", "b"), ("CT~CC", "c", "d"), ("~CTCC", "e", "f"), ("~CT~CC", "g", "h")]
    lines = [
        line((x0, 400.5 + 24 * row, x0 + 6 * len(text), 414.9 + 24 * row), text, 5 + row, 12.0)
        for row, cells in enumerate(rows)
        for x0, text in zip((100.0, 155.5, 209.5)[3 - len(cells) :], cells, strict=True)
    ]
    assert not is_text_panel(0, [frame], lines, [])
    prose = [
        line(
            (95.0, 402.0 + 14 * row, 230.0, 413.0 + 14 * row),
            "words of a sidebar on the topic",
            5 + row,
            11.0,
        )
        for row in range(5)
    ]
    assert is_text_panel(0, [frame], prose, [])
    # a listing on a tinted panel lines up its columns with spaces in a typewriter face: the body's
    code = [
        replace(cell, mono=True)
        for row in range(5)
        for cell in (
            line((95.0, 402.0 + 14 * row, 170.0, 413.0 + 14 * row), "## Origem - Assuncion", 5 + row, 9.0),
            line((190.0, 402.0 + 14 * row, 230.0, 413.0 + 14 * row), "Shapley Value", 5 + row, 9.0),
        )
    ]
    assert is_text_panel(0, [frame], code, [])


def test_a_caption_s_second_row_overlapping_its_first_s_tall_box_goes_on_from_it() -> None:
    # (IPA letters and a subscript make the rows' boxes 13 to 17 pt tall for 10 pt type, one
    # ordinary leading apart: each box reaches 4.4 pt into the one above)
    lines = [
        line(
            (144.7, 592.2, 469.8, 609.2),
            "Figure 7: f0 contours of the substitution items ‘wallaby’, kee ‘ant’,",
            6,
            9.8,
        ),
        line(
            (148.8, 604.8, 465.7, 618.1),
            "naβi ‘dog’, ɸaɰai ‘bandicoot’, and sije ‘pig’ from recorded items.",
            7,
            10.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=10.0, line_gap=0.0)
    assert caption.text.endswith("from recorded items.")


def test_a_caption_with_a_hanging_indent_goes_on_past_its_first_finished_sentence() -> None:
    # (a Word proceedings table caption: the label's row ends a sentence; the rows under it start
    # past the label, one under the other, and run further right than the first)
    caption_rows = [
        typeset(
            (57.6, 74.9, 543.5, 90.1),
            "Table 1. Sample sizes of movement paths used in the analyses.",
            1,
            11.0,
        ),
        typeset(
            (93.6, 87.8, 550.6, 102.6),
            "Region: WA = Washington, N = north of I-90, S = south of I-90,",
            2,
            11.0,
        ),
        typeset((93.6, 100.4, 282.1, 115.2), "Highways include state and US highways.", 3, 11.0),
    ]
    header = [
        line((99.0 + 80 * i, 130.0, 140.0 + 80 * i, 141.0), name, 4, 11.0)
        for i, name in enumerate(("Region", "Status", "Females"))
    ]
    (caption,) = find_captions([*caption_rows, *header], body_size=12.0, line_gap=1.0)
    assert caption.text.endswith("Highways include state and US highways.")
    # a paragraph after a finished caption indents its first row only
    paragraph_rows = [
        caption_rows[0],
        typeset(
            (93.6, 87.8, 550.6, 102.6), "We tracked the goats from the spring of 2019 to the end of", 2, 11.0
        ),
        typeset(
            (57.6, 100.4, 550.6, 115.2), "the following year in both regions of the study area.", 2, 11.0
        ),
    ]
    (caption,) = find_captions(paragraph_rows, body_size=12.0, line_gap=1.0)
    assert caption.text == "Table 1. Sample sizes of movement paths used in the analyses."


def test_a_page_wide_drawing_over_a_flush_left_caption_is_its_figure_unless_a_caption_stands_beside_it() -> (
    None
):
    from cephalo_ray.extract.claims import vertical_claim
    from cephalo_ray.extract.geometry import Caption, Cluster

    label = parse_caption_start("Fig. (4). Time series for road fatalities.")
    assert label is not None
    caption = Caption(Box(57, 544, 303, 553), label, "Fig. (4). Time series for road fatalities.", (0,))
    lines = [line((57, 544, 303, 553), caption.text, 0, 8.0)]
    chart = [Cluster(Box(83, 309, 519, 533), paths=40)]  # its middle just past the column's edge
    # (alone on its row at the left column's edge: the chart reaching far into the next column is its)
    claim = vertical_claim(0, [caption], chart, [], PAGE, (57, 298), True, lines)
    assert claim is not None and claim.clusters == (0,)
    # (with a caption beside it on its row, the drawing across both is no more its alone)
    other_label = parse_caption_start("Fig. (5). Fatality rates by state.")
    assert other_label is not None
    beside = Caption(Box(305, 544, 520, 553), other_label, "Fig. (5). Fatality rates by state.", (1,))
    lines.append(line((305, 544, 520, 553), beside.text, 1, 8.0))
    assert vertical_claim(0, [caption, beside], chart, [], PAGE, (57, 298), True, lines) is None


def test_a_centred_captions_last_word_read_after_the_next_columns_lines_still_ends_it() -> None:
    # (a ship-design paper in Word: the caption centred under a figure in the right column; its last
    # word opens the block of the text below it, which the text layer reads after the whole left
    # column, 53 lines later)
    caption_row = line(
        (326.2, 462.1, 539.3, 475.4), "Figure 7. Comparison of EFC for the two propulsion", 69, 10.0
    )
    left_column = []
    for row in range(38):  # (its paragraphs and numbered equations, each number a piece of its own)
        top = 309.2 + 11.7 * row
        left_column.append(
            line((62.4, top, 250.0, top + 14.7), "with the density of air, the", 70 + row // 5, 10.0)
        )
        if row % 2:
            left_column.append(line((281.8, top, 296.0, top + 13.3), f"({row})", 70 + row // 5, 10.0))
    rest = [
        line((418.5, 473.7, 447.2, 486.9), "modes", 81, 10.0),
        line((316.1, 496.7, 333.6, 510.0), "3.3", 81, 10.0),
        line((316.1, 519.6, 549.4, 532.9), "To step forward towards the optimum, deterministic", 81, 10.0),
    ]
    (caption,) = find_captions([caption_row, *left_column, *rest], body_size=10.0, line_gap=-1.8)
    assert caption.text == "Figure 7. Comparison of EFC for the two propulsion modes"


def test_a_captions_last_row_under_a_root_sign_is_its_next_row_not_a_piece_beside_it() -> None:
    # (River Flow proceedings: the root sign of "(std/√n)." stretches the last row's box up into
    # the row above, so the two boxes overlap by more than half their height)
    lines = [
        line(
            (50.5, 316.0, 290.2, 323.2), "Figure 4. Evolution of (a) the bar length and (b) bar height.", 20
        ),
        line((50.5, 325.3, 290.2, 332.5), "The length of the error bars in panel (a) and (b) are", 20),
        line((50.5, 334.7, 241.9, 341.9), "defined with the standard deviation divided by the square", 20),
        line((50.5, 337.0, 165.5, 350.9), "root of the number of bars (std/√n).", 20),
        line(
            (50.5, 365.0, 290.2, 375.0),
            "The bars migrate downstream at a rate that slows over time.",
            21,
            10.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=10.0)
    assert caption.text.endswith("divided by the square root of the number of bars (std/√n).")


def test_a_label_after_a_triangle_ornament_opens_a_caption_and_the_ornaments_double_is_no_word() -> None:
    # (Seismological Research Letters: "\u25b2Figure 1." with the triangle written a second time
    # on its own, a hair to the right of the first)
    assert parse_caption_start("\u25b2Figure 1. Example alarm message generated by the swarm") is not None
    assert parse_caption_start("\u2605 Table 2. Stations") is not None
    assert parse_caption_start("\u2022 Figure 3 shows the alarms") is None  # (a list's bullet)
    lines = [
        line(
            (41.0, 211.9, 290.1, 223.7),
            "\u25b2Figure 1. Example alarm message generated by the swarm",
            3,
            9.5,
        ),
        line((49.5, 211.9, 51.6, 223.7), "\u25b2", 4, 9.5),
        line((41.0, 223.9, 290.1, 235.7), "tracking system and dispatched to a call-down list.", 3, 9.5),
    ]
    (caption,) = find_captions(lines, body_size=10.5)
    assert caption.text == (
        "Figure 1. Example alarm message generated by the swarm tracking system and dispatched to a call-down list."
    )


def test_an_italic_caption_ends_where_an_upright_line_follows_its_sentence_a_paragraph_below() -> None:
    # (an Alaska Earthquake Information Center report in Word: the caption in italics, single
    # spaced; the body in upright type of the same size, a paragraph's space under it)
    lines = [
        replace(
            line((72.0, 610.9, 499.5, 624.2), "Figure 3: Shown here are the inner (red) and outer", 0, 12.0),
            italic=True,
        ),
        replace(
            line((72.0, 624.7, 307.0, 638.0), "magnitude thresholds (3.8 and 5.0 respectively).", 0, 12.0),
            italic=True,
        ),
        line((72.0, 644.5, 181.9, 657.8), "Other parameters are:", 0, 12.0),
        line(
            (72.0, 664.4, 542.8, 677.7),
            "del_time - waiting time in seconds for new origins to be processed.",
            1,
            12.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=12.0, line_gap=7.4)
    assert caption.text.endswith("(3.8 and 5.0 respectively).")
    # (set upright, the same lines read on: only the change of face says the caption has ended)
    upright = [replace(row, italic=False) for row in lines]
    (caption,) = find_captions(upright, body_size=12.0, line_gap=7.4)
    assert "respectively). Other parameters are:" in caption.text


def test_a_word_grid_table_right_on_a_wider_framed_figure_keeps_to_its_rules() -> None:
    # a Chinese thesis from Word: a table's rules drawn cell by cell under its caption, and 6 pt
    # under its bottom rule a picture in a frame wider than the table, captioned under it
    stats = TextStats(12.0, 468.0, 8.0)
    caption = line((243.0, 120.3, 371.8, 130.9), "表3.7 静态结构分析结果", 1, 10.5)
    cells = (70.9, 141.6, 240.8, 337.6, 438.0, 538.2)
    rules = [
        Graphic(Box(x0 + 0.7, y, x1 - 0.7, y + 1.4), "path")
        for y in (133.3, 158.2, 183.1, 208.0, 232.9, 257.5, 282.0)
        for x0, x1 in zip(cells, cells[1:], strict=False)
    ]
    rows = [
        line((x0 + 8, 140 + 25 * row, x0 + 60, 151 + 25 * row), text, 2 + row, 10.5)
        for row in range(6)
        for x0, text in zip(cells, ("等效应力", "504.2", "0.136", "503.44", "0.127"), strict=False)
    ]
    frame = Graphic(Box(47.6, 287.8, 547.6, 498.0), "path")
    picture = Graphic(Box(55.0, 295.0, 540.0, 490.0), "image")
    figure_caption = line((200.0, 505.0, 400.0, 516.0), "图3.5 静态结构Workbench仿真结果图", 9, 10.5)
    regions = pair_regions([caption, *rows, figure_caption], [*rules, frame, picture], PAGE, stats)
    table, figure = sorted(regions.items, key=lambda item: item.box.y0)
    assert table.kind == "table" and table.box.y1 <= 284
    assert figure.kind == "figure" and figure.box.y0 >= 286 and figure.box.x0 <= 48


@pytest.mark.parametrize("stub_in_pieces", [False, True])
def test_a_table_going_on_past_a_midrule_keeps_its_rows_under_it(stub_in_pieces: bool) -> None:
    # a PNAS supplement: a table's top, head and mid rules each drawn in two pieces either side of
    # its stub column's rule, which runs on down past the midrule to the table's last rows (in one
    # stroke, or cell by cell as Word draws it); the legend, labelled again, is a paragraph under
    # the table
    stats = TextStats(12.0, 468.0, 12.0)
    caption = line(
        (72.0, 72.6, 515.5, 85.9), "Table S4. Dependence of iron concentrations on traits.", 1, 12.0
    )
    rules = [
        Graphic(Box(x0, y, x1, y + 0.5), "path")
        for y in (127.3, 155.0, 501.2)
        for x0, x1 in ((72.0, 225.0), (225.0, 540.7))
    ]
    stub = (
        [
            Graphic(Box(224.8, y0, 225.3, y1), "path")
            for y0, y1 in ((127.3, 155.0), (155.5, 501.2), (501.7, 600.0))
        ]
        if stub_in_pieces
        else [Graphic(Box(224.8, 127.3, 225.3, 600.0), "path")]
    )
    rows = [
        line((x0, y, x0 + 40, y + 11), text, 2 + index, 12.0)
        for index, y in enumerate(range(165, 600, 24))
        if abs(y + 5 - 501) > 8
        for x0, text in ((75, "Length"), (245, "0.76"), (300, "-0.21"), (380, "0.19"), (470, "0.02"))
    ]
    legend = line(
        (72.0, 620.0, 520.0, 632.0),
        "Table S4. Results from phylogenetic least squares regression model.",
        40,
        12.0,
    )
    regions = pair_regions([caption, *rows, legend], [*rules, *stub], PAGE, stats)
    tables = [item for item in regions.items if item.kind == "table"]
    assert len(tables) == 1 and tables[0].box.y0 <= 128 and tables[0].box.y1 >= 595


def test_a_legend_a_point_smaller_under_its_captions_title_is_part_of_the_caption() -> None:
    # Biological & Pharmaceutical Bulletin: "Fig. 5." and a title in 8 pt whose last row ends short,
    # then the legend in 7 pt right under it, its first row set in by an em
    lines = [
        line(
            (45.2, 363.0, 291.2, 370.3),
            "Fig. 5. Effects of ASX-O on Xan/XOD-Induced Transient Contractions on",
            1,
            8.0,
        ),
        line((45.2, 372.5, 131.2, 379.8), "Aortic Rings of Wistar Rat", 1, 8.0),
        line(
            (52.2, 384.2, 291.2, 390.6),
            "All the rings had intact endothelium and the preparations were",
            2,
            7.0,
        ),
        line(
            (45.2, 392.0, 291.2, 398.6),
            "contracted with 60 mM KCl. Data represent mean of five rings.",
            2,
            7.0,
        ),
        line(
            (45.2, 420.0, 291.2, 429.0),
            "The vasorelaxation induced by the extract was studied in rings",
            3,
            9.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=9.0, line_gap=3.0)
    assert caption.text.endswith("Data represent mean of five rings.")


def test_a_charts_legend_row_over_it_under_its_caption_and_unit_line_is_the_figures() -> None:
    # an OECD country note: a bold caption, a unit line, then the chart's legend (three entries,
    # each a stroke and its words, one row high) a line's space over the plot
    stats = TextStats(11.0, 457.0, 3.0)
    caption = [
        line(
            (65.2, 309.7, 522.4, 323.4),
            "Figure 2. Trends in unemployment rates of 25-34 year-olds in",
            1,
            12.0,
        ),
        line((65.2, 323.7, 133.0, 337.5), "(2000 to 2024)", 1, 12.0),
    ]
    caption = [replace(row, bold_start=True, bold=True) for row in caption]
    unit = line((65.2, 346.8, 110.3, 359.5), "In per cent", 2, 11.0)
    entries = [
        line((174.1, 378.1, 242.5, 387.2), "Below upper secondary", 3, 8.0),
        line((259.3, 378.1, 398.9, 387.2), "Upper secondary or post-secondary non-tertiary", 4, 8.0),
        line((416.1, 378.1, 437.6, 387.2), "Tertiary", 5, 8.0),
    ]
    marks = [Graphic(Box(x, 382.4, x + 8.0, 383.0), "path") for x in (163.0, 248.0, 405.0)]
    plot = [
        Graphic(Box(80.0, 400.1, 518.1, 540.0), "path"),
        Graphic(Box(85.0, 420.0, 510.0, 480.0), "path"),
        Graphic(Box(85.0, 470.0, 510.0, 530.0), "path"),
    ]
    ticks = [line((72.7, y, 80.0, y + 9), label, 6, 8.0) for y, label in ((419.5, "30"), (470.0, "20"))]
    years = line(
        (90.0, 543.0, 510.0, 553.5), "2001 2003 2005 2007 2009 2011 2013 2015 2017 2019 2021 2023", 7, 8.0
    )
    regions = pair_regions([*caption, unit, *entries, *ticks, years], [*marks, *plot], PAGE, stats)
    (figure,) = regions.items
    assert figure.kind == "figure" and 376 <= figure.box.y0 <= 380 and figure.box.y1 >= 550


def test_an_italic_caption_ends_where_an_upright_indented_paragraph_opens() -> None:
    # (a Vietnamese report from Word: the italic caption, centred, ends with no full stop; the body
    # resumes a line gap under it with a paragraph's first row, set in by three ems, upright)
    lines = [
        replace(
            line(
                (128.2, 391.6, 501.8, 405.9),
                "Hình 3.25 Sơ đồ quá trình xử lý dữ liệu cảm biến độ ẩm trên Node-red",
                7,
                13.0,
            ),
            italic=True,
        ),
        line(
            (121.1, 411.0, 526.9, 425.4),
            "Sơ đồ trên mô tả quy trình xử lý dữ liệu từ cảm biến độ ẩm sử dụng",
            8,
            13.0,
        ),
        line(
            (85.1, 430.5, 524.4, 444.8),
            "MQTT. Dữ liệu độ ẩm được nhận từ topic humidity, sau đó xử lý bằng",
            8,
            13.0,
        ),
        line(
            (85.1, 449.9, 535.1, 464.3),
            "định dạng JSON với các trường độ ẩm của từng cảm biến trong hệ thống",
            8,
            13.0,
        ),
    ]
    (caption,) = find_captions(lines, body_size=13.0, line_gap=5.1)
    assert caption.text.endswith("trên Node-red")
    # (an italic caption's own next row, italic too, goes on)
    rows = [lines[0], replace(lines[1], italic=True, block=7), *lines[2:]]
    (caption,) = find_captions(rows, body_size=13.0, line_gap=5.1)
    assert "mô tả" in caption.text


def test_a_title_centred_under_a_label_set_smaller_in_small_capitals_is_the_caption_s() -> None:
    # (an economics quarterly from a university press: "FIGURE II" in 6.5 pt small capitals, its
    # title centred under it in the 8 pt of the legends, a blank half line between; where the
    # legends' size is the commonest on the pages, the title is no body text resuming)
    lines = [
        line((210.0, 306.0, 244.2, 313.5), "FIGURE II", 1, 6.5),
        line(
            (100.1, 319.8, 354.2, 327.3), "The Distribution of Annual Drug Expenditure for Medicare Part D", 2
        ),
        line((194.1, 329.8, 260.2, 337.3), "Enrollees in 2008", 2),
    ]
    legend = [
        line((93.7, 344.0, 375.5, 351.5), "Figure displays the distribution of total annual spending", 3),
        line((78.7, 353.0, 375.5, 360.5), "in 2008 for our baseline sample. Each bar represents the set", 3),
    ]
    (caption, *_) = find_captions(lines + legend, body_size=8.0, line_gap=2.4)
    assert caption.text == (
        "FIGURE II The Distribution of Annual Drug Expenditure for Medicare Part D Enrollees in 2008"
    )
    # (a line of prose flush with the margin under a figure's label set smaller is the text resuming)
    prose = [
        line((78.7, 319.8, 375.6, 327.3), "The government changes the kink location each year and", 2),
        line((78.7, 329.8, 375.6, 337.3), "the location of the bunching moves in virtual lock step as", 2),
    ]
    (caption,) = find_captions([lines[0], *prose], body_size=8.0, line_gap=2.4)
    assert caption.text == "FIGURE II"


def test_a_table_titled_over_it_and_a_picture_set_right_under_its_last_rule_part_at_the_white() -> None:
    # (an Indonesian management journal from Word: "Tabel 6." over a grid of three rules, the
    # picture of "Gambar 2." four points under its bottom rule, its caption under it; drawn as one
    # cluster, the figure took the table and the table's title was left with nothing)
    stats = TextStats(12.0, 430.0, 2.0)
    title = line((234.7, 367.0, 409.8, 383.6), "Tabel 6. Hasil Pengujian Hipotesis", 1, 12.0)
    cells = [
        line((108.1, 386.0 + 15 * row, 224.8, 399.0 + 15 * row), label, 2 + row, 11.0)
        for row, label in enumerate(
            ["Hubungan antar Variabel", "Iklim Organisasi -> OCB", "Kepribadian A -> OCB"]
        )
    ] + [
        line((270.6, 401.0 + 15 * row, 298.1, 414.0 + 15 * row), value, 6 + row, 11.0)
        for row, value in enumerate(["0.613", "0.159"])
    ]
    rules = [Graphic(Box(102.7, y, 535.9, y + 0.5), "path") for y in (382.7, 400.0, 431.0)]
    picture = Graphic(Box(102.9, 435.0, 532.3, 650.0), "image")
    caption = line((298.0, 653.6, 451.3, 670.3), "Gambar 2. Hasil Uji Hipotesis", 9, 12.0)
    regions = pair_regions([title, *cells, caption], [*rules, picture], PAGE, stats)
    found = {item.caption.label.label: item.box for item in regions.items if item.caption}
    assert found.keys() == {"Table 6", "Figure 2"}
    assert found["Table 6"].y1 <= 432 and found["Figure 2"].y0 >= 434


def test_a_tick_label_at_the_head_of_the_next_column_is_no_rest_of_a_caption_at_a_column_foot() -> None:
    # (a statistics journal from Wiley: a figure's caption in 7 pt closes the left column, its
    # chart's ticks in 7 pt stand above it, the highest of them right of the caption's end)
    caption = line(
        (49.8, 730.6, 323.4, 737.0),
        "Figure 8. Relationship between caliper width and estimated treatment effect in case study.",
        9,
        7.0,
    )
    tick = line((332.0, 468.8, 345.6, 475.3), "0.07", 3, 7.0)
    (found,) = find_captions([tick, caption], body_size=9.0)
    assert found.text == caption.text
    # (words in the caption's size there go on with it: its sentence carried to the next column)
    rest = line((332.0, 468.8, 420.6, 475.3), "and in the simulations.", 3, 7.0)
    unfinished = replace(caption, text=caption.text.removesuffix(" in case study."))
    (found,) = find_captions([rest, unfinished], body_size=9.0)
    assert found.text.endswith("and in the simulations.")


def test_a_turned_label_centred_over_its_longer_title_reads_on_into_it() -> None:
    # (a political-science journal's landscape figure on an upright page: "Figure 4." in italics
    # and its title under it, both set sideways and centred on the chart, the title longer at both ends)
    label = replace(line((327.6, 315.1, 335.4, 343.0), "Figure 4.", 1, 7.7), turn=1, italic=True)
    title = replace(
        line(
            (337.9, 178.4, 345.0, 475.9),
            "Distribution of Estimated Change in Vaccination Outcomes Across Multiverse of Models.",
            1,
            7.7,
        ),
        turn=1,
    )
    (caption,) = find_captions([title, label], body_size=9.5)
    assert caption.text == f"Figure 4. {title.text}"
