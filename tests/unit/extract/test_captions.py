from __future__ import annotations

import pytest

from cephalo_ray.extract.captions import (
    cited_labels,
    find_mentions,
    join_caption_lines,
    parse_caption_start,
    roman_to_int,
    split_sentences,
)


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("Figure 3. Stress-strain curves", "figure", "Figure 3"),
        ("Fig. 3: Stress", "figure", "Figure 3"),
        ("FIG. 12 Stress", "figure", "Figure 12"),
        ("FIGURE 3 | Stress", "figure", "Figure 3"),
        ("Figure S2. Supplementary view", "figure", "Figure S2"),
        ("Extended Data Fig. 1 | Overview", "figure", "Extended Data Figure 1"),
        ("Fig. 2 (A) In a preference decision-making task", "figure", "Figure 2"),
        ("Figure. 5 Total heave added mass.", "figure", "Figure 5"),
        (
            "Recommendation Table 4 \u2014 Recommendations for the prevention",
            "table",
            "Recommendation Table 4",
        ),
        ("Table IV", "table", "Table 4"),
        ("TABLE XII: Results", "table", "Table 12"),
        ("Tab. 2. Parameters", "table", "Table 2"),
        ("Fig. 1\u2014(a) Comparison of the calculated", "figure", "Figure 1"),
        ("Fig 1\u2013Map of the study areas", "figure", "Figure 1"),  # an en dash against the title
        ("T A B L E 1 U.S. Senate and governor effects", "table", "Table 1"),  # letter-spaced
        ("F I G U R E 2", "figure", "Figure 2"),
        ("F I G . 1 . Eriocaulon vamanae sp. nov. A, Habit", "figure", "Figure 1"),  # stops spaced too
        ("T A B L E. Diagnostic characters of the species", "table", "Table"),
        ("TABL E 1. Percentage contribution of diversity", "table", "Table 1"),  # small capitals broken
        # (a health-services journal's kerned display capitals, broken into pieces by the text layer)
        ("TA B LE 1 Variable means and standard deviations", "table", "Table 1"),
        ("FIG U R E 2 Trends in mortality", "figure", "Figure 2"),
        ("TA B LE IV Coefficients", "table", "Table 4"),
        # (a student report from Word: the whole title in parentheses after the number)
        ("Figure 24 (RedBall Environment)", "figure", "Figure 24"),
        ("Figure 23(RedBlue doors Environment)", "figure", "Figure 23"),
        ("TEXT-FIG. 2. Additive diversity partitions", "figure", "Figure 2"),  # palaeontology's word
        ("Text-figure 3. Ranges of the species", "figure", "Figure 3"),
        # numbered within a part (IUPAC recommendations, reports): part VIII's first table
        ("Table VIII.1. Correspondence between X-ray diagram levels", "table", "Table 8.1"),
        ("Figure VIII.1a. A schematic X-ray level diagram.", "figure", "Figure 8.1"),
        ("Table II-3 Results of the survey", "table", "Table 2.3"),
        # a journal's only table or figure goes without a number
        ("Table. Baseline Characteristics of Study Patients", "table", "Table"),
        ("FIGURE. Kaplan-Meier curves by treatment", "figure", "Figure"),
        # a statistical agency's table of a chart's numbers (NCHS data briefs)
        ("Data table for Figure 1. Prevalence of hypertension in adults", "table", "Data table for Figure 1"),
        # farmers' manuals and agency reports caption photographs as such
        ("Picture 3.1. Two-row (left) and four-row strip cropping", "figure", "Picture 3.1"),
        ("Photo 2: Flooded plots after the storm", "figure", "Photo 2"),
        # numbered by chapter and section (a ministry's manual)
        ("Figure 2.2.2a. Positive Ziehl Neelsen Smear", "figure", "Figure 2.2.2"),
        ("Table 3.1.2: Drug doses by weight band", "table", "Table 3.1.2"),
        ("Listagem 1: Hello World", "figure", "Listing 1"),  # a Portuguese thesis's code listing
    ],
)
def test_caption_labels_are_normalised(text: str, kind: str, label: str) -> None:
    parsed = parse_caption_start(text)
    assert parsed is not None and (parsed.kind, parsed.label) == (kind, label)


@pytest.mark.parametrize(
    "text",
    [
        "Figure 3 shows the stress",
        "Fig. 2 (a) shows the response",
        "Fig. 2-(a) and (b) of the",
        "A B C 1 is the first row",
        "Figures are drawn to scale.",
        "Fig. 3b shows",
        "Table VV. bad numeral",
        "The Figure 3.",
        "figure 2.10",
        "table 3: the rest of a sentence",
        "Data table for Figure 1 lists the numbers",
        "Table II-3 shows the survey",
        "Table. the rest of a sentence",
        "Fig. (3) shows the",
        "Algorithmus 2 berechnet die Wahrscheinlichkeit",
        "Text-fig. 3 shows the ranges",
        "Text-figs. 2 and 3. The partitions",
        "Photos 3 and 4 show the plots",
        "Picture 2 shows the four-row strips",
        # (a radio chip's data sheet closes the cited number with a full stop: "Figure 16. is a ...")
        "Figure 16. is a scenario where a retransmission is needed",
        "Table 3. lists the register map",
        "Figure 2 (see below) shows the trend",
        "Figure 2 (Appendix B) and the table",
        # (a chip's data sheet: "... (see Table 15 DC Characteristics) to reset the chip" wrapped)
        "Table 15 DC Characteristics) to reset the chip",
    ],
)
def test_body_text_is_not_a_caption(text: str) -> None:
    assert parse_caption_start(text) is None


def test_bold_label_without_punctuation_is_a_caption() -> None:
    assert parse_caption_start("Figure 3 the fibre under load") is None
    parsed = parse_caption_start("Figure 3 the fibre under load", label_is_bold=True)
    assert parsed is not None and parsed.label == "Figure 3"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Figure 2 Steps of the method", "Figure 2"),
        ("Table 3 Patient characteristics", "Table 3"),
        ("Fig. 4 A schematic of the cell", "Figure 4"),
        ("Figure 5 The evolution of the grain size", "Figure 5"),
    ],
)
def test_a_label_followed_by_a_capitalised_title_is_a_caption(text: str, label: str) -> None:
    # many journals set "Figure 2 Steps ..." in the body font with no punctuation after the number
    parsed = parse_caption_start(text)
    assert parsed is not None and parsed.label == label
    assert parse_caption_start(text.replace(text.split()[2], "shows", 1)) is None


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("Scheme 1. Synthesis of the ligand", "figure", "Scheme 1"),
        ("Algorithm 2 Greedy search", "figure", "Algorithm 2"),
        ("Listing 1: The training loop", "figure", "Listing 1"),
        ("Chart 3. Sales by year", "figure", "Chart 3"),
        ("Map 2 East Africa", "figure", "Map 2"),  # a bulletin's maps, numbered apart from its figures
        ("Box 1 | Key points", "figure", "Box 1"),
        ("Abbildung 3: Aufbau der Zelle", "figure", "Figure 3"),
        ("Figura 2. Esquema", "figure", "Figure 2"),
        ("Tableau 2 \u2013 R\u00e9sultats", "table", "Table 2"),
        ("Tabelle 1: Messwerte", "table", "Table 1"),
        ("Supplementary Figure 4. Controls", "figure", "Figure S4"),
        ("Figure 2.1 Stress against strain", "figure", "Figure 2.1"),
        ("Figure B.1: Appendix plot", "figure", "Figure B.1"),
        ("Table A1. Appendix values", "table", "Table A1"),
        ("Quadro 1. Caracter\u00edsticas dos artigos", "table", "Quadro 1"),
        ("Cuadro 2. Resultados", "table", "Cuadro 2"),
        ("Gr\u00e1fico 1: Casos e \u00f3bitos por semana", "figure", "Gr\u00e1fico 1"),  # a ministry's charts
        ("Gr\u00e1fica 3. Casos por a\u00f1o", "figure", "Gr\u00e1fica 3"),
        ("Mapa 2: Distribui\u00e7\u00e3o de casos", "figure", "Mapa 2"),
        ("Tablo 2. En Başarılı Beş Ülke", "table", "Table 2"),
        ("Şekil 1. Araştırma modeli", "figure", "Figure 1"),
        ("Рис. 3. Схема замещения", "figure", "Figure 3"),
        ("Таблица 1. Параметры двигателя", "table", "Table 1"),
        ("Rys. 2. Schemat układu", "figure", "Figure 2"),
        ("Kuva 4.2. Testiautomaation pyramidi", "figure", "Figure 4.2"),  # a Finnish thesis
        ("Taulukko 5.1. Priorisointimenetelmät", "table", "Table 5.1"),
        ("\u56fe1 \u56db\u8f6e\u79fb\u52a8\u673a\u5668\u4eba", "figure", "Figure 1"),  # 图1 四轮移动机器人
        ("\u8868\uff11 \u51e0\u79cd\u7f51\u7edc", "table", "Table 1"),  # 表１ (a full-width digit)
        ("\u56f32 Transformation of the basin", "figure", "Figure 2"),  # 図2
        ("Algorithmus 1 Übersetzung der Rekursionsgleichung", "figure", "Algorithm 1"),
        ("Algoritmo 2: Busca gulosa", "figure", "Algorithm 2"),
        ("Fig. (1). Ballast Flying Damage", "figure", "Figure 1"),  # the number set in parentheses
        ("Table (3). Parameters of the track", "table", "Table 3"),
        ("\u25b6Tab. 1", "table", "Table 1"),  # Thieme's arrowhead before the label
        ("\u25b6Abb. 1\tMessmodell der Faktorenanalyse", "figure", "Figure 1"),
    ],
)
def test_other_label_words(text: str, kind: str, label: str) -> None:
    parsed = parse_caption_start(text)
    assert parsed is not None and (parsed.kind, parsed.label) == (kind, label)


def test_an_acronym_spelled_like_a_label_word_is_no_caption_by_its_capitals_alone() -> None:
    # "MAP" is mean arterial pressure in a clinical flow chart; "MAP 3. Sites" is still a caption
    assert parse_caption_start("MAP 65\u201390 mm Hg, UO>0.5 mL/kg/hr") is None
    parsed = parse_caption_start("MAP 3. Sampling sites")
    assert parsed is not None and parsed.label == "Map 3"


def test_a_sentence_opening_with_a_chinese_or_japanese_label_is_not_a_caption() -> None:
    assert parse_caption_start("\u88681\u306b\u793a\u3059\u3088\u3046\u306b") is None  # 表1に示すように


def test_a_chinese_caption_s_title_may_open_with_latin_capitals_or_digits() -> None:
    # a Chinese engineering journal names circuits by their parts: "图3  PW1515限流保护电路"
    for text, label in (
        ("图3  PW1515限流保护电路", "Figure 3"),
        ("图5  H桥电机驱动结构", "Figure 5"),
        ("表3 316L 不锈钢的物性参数", "Table 3"),
    ):
        parsed = parse_caption_start(text)
        assert parsed is not None and parsed.label == label
    assert parse_caption_start("图3所示的电路") is None  # a sentence runs on with no space


def test_a_title_may_open_with_the_part_of_the_figure_it_speaks_of_in_brackets() -> None:
    # a music-computing proceedings: "Figure 7 [Upper part] Lag-matrix ... [Lower part] ..."
    parsed = parse_caption_start("Figure 7 [Upper part] Lag-matrix for the title")
    assert parsed is not None and parsed.label == "Figure 7"
    assert parse_caption_start("Figure 7 [12] shows the lag matrix") is None  # a citation follows


def test_other_label_words_are_cited_too() -> None:
    assert cited_labels("as in Scheme 2, Algorithm 1 and Abb. 3") == {"Scheme 2", "Algorithm 1", "Figure 3"}


def test_roman_numerals() -> None:
    assert [roman_to_int(text) for text in ("I", "IV", "IX", "XIV", "XL")] == [1, 4, 9, 14, 40]
    assert roman_to_int("IIII") is None and roman_to_int("VX") is None


def test_caption_lines_are_joined_and_dehyphenated() -> None:
    assert join_caption_lines(["Figure 1. The hier-", "archical struc-", "ture of  bone."]) == (
        "Figure 1. The hierarchical structure of bone."
    )
    assert join_caption_lines(["A self-", "Assembled layer"]) == "A self-Assembled layer"
    assert join_caption_lines(["radical clock (E)-", "1,6-octadiene"]) == "radical clock (E)-1,6-octadiene"
    assert join_caption_lines(["Figure 3 -", "Results"]) == "Figure 3 - Results"


def test_sentences_do_not_break_after_fig_abbreviation() -> None:
    text = "As shown in Fig. 2, silk is tough. Smith et al. found the same. See Figs. 3 and 4b for details."
    assert split_sentences(text) == [
        "As shown in Fig. 2, silk is tough.",
        "Smith et al. found the same.",
        "See Figs. 3 and 4b for details.",
    ]


def test_cited_labels_lists_and_ranges() -> None:
    assert cited_labels("See Figs. 2 and 3b.") == {"Figure 2", "Figure 3"}
    # (a tight hyphen also reads as a chapter's numbering: the document's labels choose)
    assert cited_labels("(Figures 2-4)") == {"Figure 2", "Figure 3", "Figure 4", "Figure 2-4"}
    assert cited_labels("Table III lists them; Fig. S1 too") == {"Table 3", "Figure S1"}
    assert cited_labels("seen in the Fig. (7), as Table (2) lists") == {"Figure 7", "Table 2"}
    assert cited_labels("no citation here") == set()


def label_of(text: str, bold: bool = True) -> str | None:
    """The normalised label a caption opening with `text` has, None when it opens no caption."""
    parsed = parse_caption_start(text, label_is_bold=bold)
    return parsed.label if parsed is not None else None


def test_a_chapter_numbered_label_keeps_its_number_before_a_full_stop() -> None:
    # (US agencies' reports: "Figure 3-2." heading every chart of a chapter, at the same place)
    assert label_of("Figure 3-2.") == "Figure 3-2"
    assert label_of("Table 3-1. Projected costs by year") == "Table 3-1"
    assert label_of("Figure 3-2.5 shows", bold=False) != "Figure 3-2"
    sentences = ["As Figure 3-2 shows, costs rise.", "Figures 3 and 2 differ."]
    assert find_mentions(sentences, "Figure 3-2") == ["As Figure 3-2 shows, costs rise."]
    assert find_mentions(sentences, "Figure 2") == sentences


def test_find_mentions_keeps_order_and_uniqueness() -> None:
    sentences = ["Fig. 1 is here.", "Nothing.", "Compare Fig. 1 with Fig. 10.", "Fig. 1 is here."]
    assert find_mentions(sentences, "Figure 1") == ["Fig. 1 is here.", "Compare Fig. 1 with Fig. 10."]
    assert find_mentions(sentences, "Figure 10") == ["Compare Fig. 1 with Fig. 10."]


def test_a_hyphen_may_join_the_label_word_and_its_number() -> None:
    for text, label in (("Figure-1: Broiler weight gain", "Figure 1"), ("Table-2: Diets", "Table 2")):
        parsed = parse_caption_start(text)
        assert parsed is not None and parsed.label == label
    assert cited_labels("as Table-3 and Figure-2 show") == {"Table 3", "Figure 2"}
    assert parse_caption_start("Table-based methods are fast.") is None


def test_a_colon_may_stand_between_the_label_word_and_its_number() -> None:
    # (a B.Tech project report from Word: "Fig :3.1 Properties of an Image", "Fig:4.2 Use Case Diagram")
    for text, label in (
        ("Fig :3.1 Properties of an Image", "Figure 3.1"),
        ("Fig:4.2 Use Case Diagram", "Figure 4.2"),
        ("Table: 2 Results of the survey", "Table 2"),
    ):
        parsed = parse_caption_start(text)
        assert parsed is not None and parsed.label == label
    # (a colon before a title, not a number, is no such label; nor a cited label in a sentence)
    assert parse_caption_start("Table: Results of the survey") is None
    assert parse_caption_start("Fig:3.2 shows the results") is None


def test_a_panels_letter_in_parentheses_before_the_labels_punctuation_opens_a_caption() -> None:
    # (a project report from WPS Writer captions each panel apart: "Figure 6.1 (a): Environment"
    # over "Figure 6.1 (b): Robot Performance"; a bank's "Table 1(a): Summary information")
    assert label_of("Figure 6.1 (a): Environment") == "Figure 6.1"
    assert label_of("Table 1(b): Summary information for the insurers") == "Table 1"
    # (a sentence citing a panel goes on without punctuation)
    assert parse_caption_start("Figure 3 (a) shows the map of the site") is None


def test_a_title_opening_with_a_capital_beyond_latin_1_follows_an_unpunctuated_label() -> None:
    # (a Vietnamese report from Word: "Hình 3.19 Động cơ bước ..."; "Đ" and "ạ" lie outside
    # Latin-1; a Polish "Rysunek 2 Łańcuch ...", a Czech "Obrázek 4 Řez ...")
    assert label_of("Hình 3.19 Động cơ bước size 42 1.8 step", bold=False) == "Figure 3.19"
    assert label_of("Hình 3.20 Mạch Điều Khiển Động Cơ Bước A4988", bold=False) == "Figure 3.20"
    assert label_of("Rysunek 2 Łańcuch dostaw", bold=False) == "Figure 2"
    assert label_of("Obrázek 4 Řez vzorkem", bold=False) == "Figure 4"
    # (a sentence goes on in lower case, whatever its letters)
    assert parse_caption_start("Hình 3.19 cho thấy động cơ bước") is None
    assert parse_caption_start("Rysunek 2 łączy dane") is None


def test_flow_charts_and_diagrams_are_labels_of_figures() -> None:
    # (a Brazilian nursing review numbers its PRISMA chart "Fluxograma 1"; reports number
    # "Diagram 2", "Flowchart 1", "Organograma 1", "Esquema 3")
    for text, label in (
        ("Fluxograma 1 – Processo de seleção dos estudos primários", "Fluxograma 1"),
        ("Diagram 2: Flow of patients through the trial", "Diagram 2"),
        ("Flowchart 1. Steps of the screening", "Flowchart 1"),
        ("Esquema 3. Síntesis del ligando", "Esquema 3"),
    ):
        parsed = parse_caption_start(text)
        assert parsed is not None and parsed.label == label and parsed.kind == "figure"
    assert parse_caption_start("Diagram 2 shows the flow of patients") is None


def test_persian_and_arabic_labels_are_read_in_the_letters_a_text_layer_gives_them() -> None:
    # (a Persian lab report from Word: its text layer gives the letters' presentation forms, "ﺷﮑﻞ" for
    # "شکل"; "نمودار" numbers its charts apart from its figures; an Arabic paper's "الشكل (3)")
    assert label_of("ﺷﮑﻞ 1: ﻧﻤﻮﻧﻪ ﻧﯿﻤﻪﻫﺎدي ﺑﺮاي ﺑﺮرﺳﯽ اﺛﺮ ﻫﺎل") == "Figure 1"
    assert label_of("ﺟﺪول 2: ﺗﻐﯿﯿﺮات ولتاژ") == "Table 2"
    assert label_of("نمودار 7: تغییرات ولتاژ هال") == "Figure 7"
    assert label_of("الشكل (3): رسم تخطيطي للجهاز") == "Figure 3"
    assert parse_caption_start("شکل 1 نشان می‌دهد که") is None  # ("Figure 1 shows that ...")


def test_a_label_numbered_after_a_two_letter_prefix_keeps_it() -> None:
    # (a project book's case studies: "Figure CS1.1."; Extended Data figures: "Figure ED3")
    assert label_of("Figure CS1.1. SARs across five continents") == "Figure CS1.1"
    assert label_of("Figure ED3 Extended data of the survey") == "Figure ED3"
    assert label_of("Table A1. Sample sizes") == "Table A1"


def test_figures_numbered_alone_are_those_opened_by_their_number_and_cited_in_a_document_without_labels() -> (
    None
):
    from cephalo_ray.extract.captions import numbered_exhibits, parse_numbered_title

    report = [
        "19.",
        "Personal saving rate",
        "A1. Impulse responses in the appendix",
        "quarters (figure 19). This low saving rate likely reflects",
        "Figure 2 shows that before the pandemic the median response (figure A1)",
        "8. For additional discussion, see the box",
    ]
    numbered = numbered_exhibits(report)
    assert numbered == frozenset({"19", "A1"})  # footnote 8 is never cited as a figure
    label = parse_numbered_title("19. Personal saving rate", numbered)
    assert label is not None and (label.kind, label.label) == ("figure", "Figure 19")
    assert parse_numbered_title("8. For additional discussion", numbered) is None
    # a paper that labels its figures, even without punctuation, numbers no figure alone
    assert numbered_exhibits([*report, "Figure 1 Repair outcomes of Cas9 cuts"]) == frozenset()
    assert numbered_exhibits([*report, "Table 2. Sample sizes"]) == frozenset()
