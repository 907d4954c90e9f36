"""Caption labels and mentions: pure text functions, no PDF in sight.

Recognises the label forms papers use (`Figure 3.`, `Fig. 3:`, `FIG. 3`, `FIGURE 3 |`, `Figure S2`,
`Extended Data Fig. 1`, `Text-fig. 2`, `Table IV`, `Data table for Figure 2`), in other languages too (`Abbildung 2`, `Tabela 1`, `Рис. 3`,
`Şekil 4`, `Gambar 2`, `Slika 2.1`, `Tablica 3`, `6. ábra`, `شکل 1`, `جدول 2`, `圖一`, `Graphique 1`, `图1`, `表１`), and normalises them (`Figure 3`, `Figure S2`, `Table 4`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass

ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
# characters that print nothing and part nothing: a zero-width space (as Google Docs writes one after
# a footnote's call and in every empty tab stop), a word joiner, a byte-order mark, and the marks,
# embeddings, overrides and isolates of bidirectional text (a PDF from Google Docs may wrap every run
# of Latin text in a left-to-right override)
INVISIBLE_CHARACTERS = "\u200b\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Adobe's expert fonts set old-style figures and small capitals in the private use area, each at
# U+F700 past its plain character ("\uf735" prints an old-style 5, "\uf761" a small capital A)
EXPERT_SET = range(0xF721, 0xF800)
# how a text layer's characters read: the invisible ones dropped, the expert set's as plain ones
PLAIN_CHARACTERS = str.maketrans(
    {**dict.fromkeys(map(ord, INVISIBLE_CHARACTERS)), **{code: code - 0xF700 for code in EXPERT_SET}}
)

_PREFIX = (
    r"(?P<extended>extended\s+data\s+|supplementary\s+|recommendation\s+|data\s+table\s+for\s+|box\s+(?=fig|tab))?"
    r"(?P<word>text-fig(?:ures?|s?\.?)|figura|abbildung|abb\.|figures?|figs?\.?|figuur|figur|tableau|tabla|tabelle|tabella|tabela|tabell"
    r"|tablica|tabelul|tabel|tablo|tabulka|tables?|tabs?\.?|schemes?|charts?|graphiques?|graphs?|grafik|gambar|gr[aá]fi?c[oa]s?|plates?|pictures?|photo(?:graph)?s?|mapas?|maps?|exhibits?|algorithm(?:s|us|en)?|algorithmes?"
    r"|algoritmos?|algoritm(?:us|ul|a)?|algoritam|algorytm|listings?|listage[mn]s?|kode\s+(?:program|sumber)|pseudocodes?|box"
    r"|quadros?|cuadros?|fluxogramas?|organogramas?|diagramas?|diagrams?|flowcharts?|esquemas?|şekil|rysunek|rys\.|obrázek|obr\.|slika|kuva|kuvio|taulukko|ábra|táblázat|attēls|tabula|pav\.|lentelė|рисунок|рис\.|слика|график|таблица|табела|табл\.|hình|bảng|ตารางที่|รูปที่|ภาพที่|แผนภูมิที่"
    r"|شکل|شكل|الشكل|نمودار|جدول|الجدول|算法|图|圖|図|表|그림|표)"
    r"(?:(?<=[a-z])\.(?=\s*\d))?"  # ("Figure. 5 Total heave added mass": a stray full stop)
)
# label words and the item they name; "Scheme 2" and "Algorithm 1" keep their word in the label
TABLE_WORDS = (
    "tab",
    "táb",
    "lentel",
    "taulukko",
    "табл",
    "табел",
    "bảng",
    "ตาราง",
    "جدول",
    "الجدول",
    "表",
    "표",
)
FIGURE_WORDS = (
    "fig",
    "text-fig",
    "abb",
    "şekil",
    "rys",
    "obr",
    "slika",
    "ábra",
    "attēl",
    "pav",
    "слика",
    "kuva",
    "kuvio",
    "gambar",
    "hình",
    "รูป",
    "ภาพ",
    "แผนภูมิ",
    "شکل",  # (Persian, "شكل" in Arabic)
    "شكل",
    "الشكل",
    "نمودار",  # (Persian: a chart)
    "рис",
    "图",
    "圖",
    "図",
    "그림",
)
# 3, S2, 2.1 and 2.2.1 (numbered by chapter and section), A1 / B.1 (appendix), IV, SI
_ARABIC = r"(?:[A-Z]{1,2}\.?)?\d{1,3}(?:\.\d{1,3}){0,2}"
# VIII.1: the first table of part VIII (reports and recommendations numbered by part)
_ROMAN_PART = r"[IVXLC]{1,7}[.\-]\d{1,3}(?!\.?\d)"
# 2-1: the first of chapter 2, as Chinese and Japanese theses and US agencies' reports number them
# ("表2-1", "Figure 3-2.", an appendix's "Table A-1."); a full stop after it ends the label, a
# decimal point does not
_CHAPTER_HYPHEN = r"(?:\d{1,2}|[A-Z])-\d{1,3}(?![\d\-]|\.\d)"
# 圖一, 表十二: Chinese numerals, as Taiwanese and Chinese reports from Word number their items
_CJK_NUMERAL = "[一二三四五六七八九十]{1,3}"
# (a panel's letter after the number, "Figure 2a.", or in parentheses before the label's
# punctuation, "Figure 6.1 (a): Environment", "Table 1(b):": each panel captioned apart)
_NUMBER = (
    rf"(?P<number>{_CHAPTER_HYPHEN}|{_ARABIC}|{_ROMAN_PART}|S?[IVXLC]{{1,7}}(?![a-z])|{_CJK_NUMERAL})"
    r"(?P<panel>[a-z]|\s?\([a-z]\)(?=\s*[:.]))?"
)
ARABIC_NUMBER = re.compile(rf"^(?:{_ARABIC}|{_CHAPTER_HYPHEN})$", re.IGNORECASE)
ROMAN_PART = re.compile(r"^(?P<part>[IVXLC]{1,7})[.\-](?P<number>\d{1,3})$")
LABEL_WORD = re.compile(rf"^\s*{_PREFIX}\s*$", re.IGNORECASE)  # "Figure" alone, its number apart
# "Figure-1:", "Table\u20112." (some journals join word and number with a hyphen); "Fig:3.2",
# "Fig :3.1" (a colon, as student reports from Word set it)
_JOIN = r"\s*(?:[\-\u2010\u2011\u2013](?=[A-Z0-9])|:\s?(?=\d))?"
# "Fig. (1). Ballast Flying Damage": some publishers set the number in parentheses
# ("\u25b6Tab. 1", "\u25b2Figure 1.": a journal's ornament before the label, any of the geometric
# shapes (squares, triangles, arrowheads, diamonds, circles) or a star; never a list's bullet)
_ORNAMENT = r"(?:[\u25a0-\u25ff\u2605\u2606]\s*)?"
ORNAMENT = re.compile(rf"^{_ORNAMENT}")
LABEL_AT_START = re.compile(
    rf"^\s*{_ORNAMENT}{_PREFIX}{_JOIN}(?P<open>\()?{_NUMBER}(?(open)\))(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# a label word set letter-spaced ("F I G U R E 1", "T A B L E 2", as one publisher's template prints it)
# "Table. Baseline Characteristics": a journal's only table (or figure) needs no number
UNNUMBERED_LABEL = re.compile(r"^\s*(?P<word>Figure|Table|FIGURE|TABLE)\.\s+(?=[A-Z])")
LETTER_SPACED = re.compile(r"^(\s*)((?:[A-Za-z] ){2,}[A-Za-z])(?=[ .])")
# ("F I G . 1 .": the full stops spaced out too, after the word and after the number)
SPACED_STOP = re.compile(r"^ \.")
# the number before the word, as Hungarian, Latvian and Lithuanian set their labels ("6. ábra:",
# "2. táblázat", "3. attēls", "1 pav.", "2 lentelė"): read as the word before its number
NUMBER_BEFORE_WORD = re.compile(
    r"^(\s*)(\d{1,3}(?:\.\d{1,3}){0,2})\.?\s+(ábra|táblázat|attēls|tabula|pav\.|lentelė)(?=[\s.:]|$)",
    re.IGNORECASE,
)
# a capitals label word the text layer breaks where its type is kerned apart ("TABL E 1.", a
# journal's spaced display capitals "TA B LE 1", "FIG U R E 2"), before its number
BROKEN_CAPITALS = re.compile(r"^(\s*)((?:[A-Z]{1,8} ){1,6}[A-Z]{1,8})(?=\.?\s*\d|\s+[IVXLC]{1,7}\b)")
# Caption labels end in punctuation or a line break: "Figure 3 shows ..." is body text, not a caption.
# A dash counts only before a space: "Figs. 4\u20139" and "Fig. 3)" open body sentences; an em or en
# dash also before a capital or a panel's letter ("Table 1\u2014Summary Statistics", as economics
# journals set them; "Fig 1\u2013Map of the study areas", a tropical-medicine journal's;
# "Fig. 1\u2014(a) Comparison ..."). A full-width colon ends a label before anything, a year too
# ("表一：2022 年...": Chinese sets no space after it).
CAPTION_DELIMITER = re.compile(
    r"^\s*(?:[.:|\uff0e](?!\d)|\uff1a|[\u2014\u2013\-](?=\s)|[\u2014\u2013](?=[A-Z(])|$)"
)
# "Figure 16. is a scenario where ...": a data sheet's sentence citing the figure, its number closed
# by a full stop and followed by a verb in lower case, never a caption's title
CITING_VERB_AFTER_STOP = re.compile(
    r"^\.\s+(?:is|are|shows?|illustrates?|depicts?|presents?|gives?|lists?|summari[sz]es?|describes?"
    r"|displays?|contains?|compares?|plots?)\s+[a-z]"
)
# "Table 15 DC Characteristics) to reset the chip": a citation in parentheses wrapped to open the
# line, its closing parenthesis and the sentence running on in lower case after the item's name
CITATION_CLOSED_IN_TITLE = re.compile(r"^\s+[A-Z][^()]*?[a-z]{2,}\)\s+[a-z]{2,}")
# "Figure 2 Steps of the method", "Abbildung 1 Überblick": a title in capitals right after the
# number (one space); in Chinese and Japanese, an ideograph or katakana after a space ("图1 系统结构"; "表1に" is a sentence);
# a tab may stand for the space ("Fig. 2 \tFramework for analysis", as Word sets a tab stop)
# ("Fig. 2 (A) In a preference task ...": a legend opening with its first panel's letter; "Figure 7
# [Upper part] Lag-matrix ...": with the part of the figure it speaks of first)
# (in any alphabet with capitals: "Hình 3.19 Động cơ bước", "Rysunek 2 Łańcuch", "Рисунок 3 Схема")
TITLE_OPENING = re.compile(r"^[ \t]{1,3}(?:\([A-Za-z]\) {1,3}|\[)?(?P<word>[^\W\d_]+)(?P<space>\s?)")
IDEOGRAPHIC_TITLE_START = re.compile(r"^[ \u3000]{1,3}[\u4e00-\u9fff\u30a0-\u30ff\uac00-\ud7af]")
# "Figure 24 (RedBall Environment)", "Figure 23(RedBlue doors Environment)": a student report's
# whole title in parentheses after the number, nothing after it on the line
PARENTHESISED_TITLE = re.compile(r"^ {0,3}\([^\W\d_][^()]*\)\s*$")


def opens_title(rest: str) -> bool:
    """The text after a label's number opens a title: a capitalised word ("Steps"), a word in
    capitals ("DNA"), a capital alone before a space ("A sample"), an ideograph, or a capitalised title
    in parentheses filling the rest of the line ("(Door Key Environment)")."""
    if IDEOGRAPHIC_TITLE_START.match(rest):
        return True
    if PARENTHESISED_TITLE.match(rest):
        return rest.strip()[1].isupper()
    opening = TITLE_OPENING.match(rest)
    if opening is None or not opening["word"][0].isupper():
        return False
    word = opening["word"]
    if len(word) == 1:
        return bool(opening["space"])
    return word[1].islower() or word.isupper()


# after a Chinese, Japanese or Korean label word any title counts, in Latin letters or digits too
# ("图3  PW1515限流保护电路", "图5  H桥电机驱动结构", "図1 vjc.bat の内容"): a sentence runs on with
# no space ("图3所示") or with a particle ("図1 は")
# (so after a Thai one, "ตารางที่ 1 จำนวนผู้ป่วย...": Thai sets no capitals and ends no label in
# punctuation)
CJK_LABEL_WORDS = ("算法", "图", "圖", "図", "表", "그림", "표", "ตารางที่", "รูปที่", "ภาพที่", "แผนภูมิที่")
CJK_TITLE_START = re.compile(
    r"^[ \t\u3000]{1,3}[A-Za-z0-9\u0e01-\u0e4e\u4e00-\u9fff\u30a0-\u30ff\uac00-\ud7af]"
)
MENTION = re.compile(
    rf"\b{_PREFIX}{_JOIN}\(?(?P<numbers>(?:{_ARABIC}|[IVXLC]{{1,7}})[a-z]?"
    rf"(?:\s*(?:,|and|&|\u2013|-|to)\s*(?:{_ARABIC}|[IVXLC]{{1,7}})[a-z]?)*)",
    re.IGNORECASE,
)
ACRONYM_WORDS = {"map", "maps"}  # label words that upper case also spells as an acronym
PLURAL_WORDS = {
    "figures",
    "figs",
    "text-figs",
    "text-figures",
    "tables",
    "tabs",
    "schemes",
    "charts",
    "plates",
    "maps",
    "exhibits",
    "algorithms",
    "listings",
    "quadros",
    "cuadros",
}
# "Figs 1-4. Holotypus of ...": a plate of numbered pictures captioned as one, its range closed by
# a full stop or a colon ("Figs. 2-3 show" and "Figs. 2-3) and" are citations)
NUMBER_RANGE_CLOSED = re.compile(r"^ ?[\-\u2013] ?\d{1,3}[.:](?=\s|$)")
RANGE_END = re.compile(r"^[.:](?=\s|$)")
ENGLISH_LABEL_WORDS = {
    word: name
    for name, words in (
        ("figure", ("fig", "figs", "figure", "figures", "text-fig", "text-figs", "text-figure")),
        ("table", ("tab", "tabs", "table", "tables")),
    )
    for word in words
}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
ABBREVIATIONS = re.compile(r"\b(?:Fig|Figs|Tab|Eq|Eqs|Ref|Refs|et al|e\.g|i\.e|vs|cf|No)\.$", re.IGNORECASE)


# "Table 2 (continued)", "Table 2. Continued", "... of the Study (Cont.)": the rest of an item whose
# caption came on an earlier page
# ("Table 2. Extended." heads the facing page of a table spread: the word alone, nothing after it)
# ("TABLE 4 (end)", as standards bodies mark an item's last part; "(suite)", "(Fortsetzung)",
# "(continuación)", "(продолжение)" and "(окончание)" in French, German, Spanish and Russian; "devam",
# "segue", "vervolg", "ciąg dalszy", "pokračování" and "folytatás" in Turkish, Italian, Dutch, Polish,
# Czech and Hungarian, in brackets or alone after the label: "Tablo 6.1 – devam"; "(ต่อ)" in Thai,
# "（续）", "（続き）" and "(계속)" in Chinese, Japanese and Korean, whose brackets may be full-width)
_GOES_ON_WORDS = (
    r"(?:end|suite|fortsetzung|continuaci[oó]n|continua[cç][aã]o|продолжение|окончание"
    r"|devam[ıi]?|segue|vervolg|ciąg dalszy|pokračování|folytatás|ต่อ|续|續|続き|つづき|계속)"
)
CONTINUED = re.compile(
    r"^\W*\(?\s*(?:continued|cont(?:'d|d|\.))(?:\W|$)|\(\s*(?:continued|cont(?:'d|d|\.)?)\s*\)\W*$"
    rf"|^\W*[(（]\s*{_GOES_ON_WORDS}\s*[)）](?:\W|$)|[(（]\s*{_GOES_ON_WORDS}\s*[)）]\W*$"
    rf"|^\W*{_GOES_ON_WORDS}\W*$"
    r"|^\W*\(?\s*extended\s*\)?\W*$",
    re.IGNORECASE,
)


# the word opening the line that names an item's source, in the languages that print one under a
# figure or a table, with its colon, full-width in Chinese and Japanese ("Source:", "Fuente:",
# "Quelle:", "Sumber:", "Źródło:", "Nguồn:", "ที่มา:", "资料来源：", "出典：", "출처:")
# ("Fte.:", "Fte:": Spanish journals abbreviate their "Fuente")
SOURCE_WORD = (
    r"(?:(?:data\s+)?sources?|fuentes?|fte\.?|fontes?|fonti|quellen?|bron(?:nen)?|källa|kilde|lähde|źródło|zdroj"
    r"|sursa|kaynak|sumber|nguồn|источники?|джерело|πηγή|ที่มา|(?:资料|資料)?来源|來源|出典|出所|출처)\s*[:：]"
)
SOURCE_OPENING = re.compile(rf"^\W{{0,2}}{SOURCE_WORD}", re.IGNORECASE)


def names_source(text: str) -> bool:
    """The line opens by naming its item's source, capitalised as a line of its own is ("Source:
    ...", "Sumber: ..."); in lower case the word goes on with a caption's sentence ("...; źródło:
    [10, strona 1097]")."""
    letter = next((char for char in text if char.isalpha()), "")
    return SOURCE_OPENING.match(text) is not None and not letter.islower()  # (scripts without case too)


@dataclass(frozen=True)
class CaptionLabel:
    kind: str  # "figure" or "table"
    label: str  # normalised: "Figure 3", "Figure S1", "Table 4"


# "19. Personal saving rate": a report that numbers its charts alone ("1.", "A1."), its text citing
# them as "figure 19"
NUMBERED_TITLE = re.compile(r"^\s*(?P<number>[A-Z]?\d{1,3})\.(?:\s+(?=[^\s\d])|\s*$)")  # (or alone)
CITED_FIGURE = re.compile(r"\b(?:figures?|figs?\.)\s+(?P<number>[A-Z]?\d{1,3})\b", re.IGNORECASE)
# a line opening with a capitalised label word, a number and a title, however punctuated ("Figure 1
# Repair outcomes"; not the sentence "Figure 2 shows that ...")
WORD_LABELLED = re.compile(
    r"^\s*(?:Fig(?:ure)?\.?|FIG(?:URE)?\.?|Tab(?:le)?\.?|TABLE)\s*[A-Z]?\d{1,3}[a-z]?\s*(?:[.:|\u2014\u2013-]|\s[A-Z(]|$)"
)


def numbered_exhibits(texts: Iterable[str]) -> frozenset[str]:
    """The numbers of a document's figures captioned by their number alone: those its lines open
    with ("19. Personal saving rate") and its text cites ("(figure 19)"). Empty where any line opens
    with a label word and a number, or a caption with a label word: such a document labels its
    figures."""
    texts = list(texts)
    if any(WORD_LABELLED.match(text) or parse_caption_start(text) is not None for text in texts):
        return frozenset()
    cited = {match["number"] for text in texts for match in CITED_FIGURE.finditer(text)}
    opened = {match["number"] for text in texts if (match := NUMBERED_TITLE.match(text))}
    return frozenset(cited & opened)


def parse_numbered_title(text: str, numbered: Collection[str]) -> CaptionLabel | None:
    """The label of a caption opened by one of the document's figure numbers alone ("19. ...")."""
    match = NUMBERED_TITLE.match(text)
    if match is None or match["number"] not in numbered:
        return None
    return CaptionLabel("figure", f"Figure {match['number']}")


CJK_DIGITS = {char: value for value, char in enumerate("一二三四五六七八九", start=1)}
CJK_NUMERAL = re.compile(r"(?P<tens>[一二三四五六七八九]?十)?(?P<units>[一二三四五六七八九])?")


def cjk_numeral_to_int(text: str) -> int | None:
    """`二` -> 2, `十二` -> 12, `二十三` -> 23; None for anything else (up to 99)."""
    match = CJK_NUMERAL.fullmatch(text)
    if not text or match is None:
        return None
    tens = CJK_DIGITS.get(match["tens"][:-1], 1) * 10 if match["tens"] else 0
    return tens + CJK_DIGITS.get(match["units"] or "", 0)


def roman_to_int(text: str) -> int | None:
    """`IV` -> 4; None for anything that is not a well-formed Roman numeral."""
    text = text.upper()
    if not text or any(char not in ROMAN_VALUES for char in text):
        return None
    total = 0
    for index, char in enumerate(text):
        value = ROMAN_VALUES[char]
        following = ROMAN_VALUES[text[index + 1]] if index + 1 < len(text) else 0
        total += -value if value < following else value
    return total if int_to_roman(total) == text else None


def int_to_roman(number: int) -> str:
    pairs = [
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ]
    out = ""
    for value, symbol in pairs:
        while number >= value:
            out += symbol
            number -= value
    return out


def _normalise(word: str, extended: str | None, number: str) -> CaptionLabel | None:
    stem = word.lower().rstrip(".")
    if stem.startswith(TABLE_WORDS):
        name = "Table"
    elif stem.startswith(FIGURE_WORDS):
        name = "Figure"
    elif stem == "算法" or stem.startswith(("algorit", "algoryt")):
        name = "Algorithm"  # "Algorithmus 1", "Algoritmo 1", "Algorithme 1", "Algorytm 1"
    elif stem.startswith(("listage", "kode")):
        name = "Listing"  # "Listagem 1"; an Indonesian thesis's "Kode Program 4.2" (program code)
    else:
        name = stem.rstrip("s").capitalize()  # "Scheme", "Algorithm", "Box", "Map"
    # Portuguese and Spanish journals call a table of text a "Quadro" / "Cuadro"; a statistical
    # agency's "Data table for Figure 2" is the table of a chart's numbers
    data_table = (extended or "").lower().startswith("data")
    kind = "table" if name in ("Table", "Quadro", "Cuadro") or data_table else "figure"
    number = unicodedata.normalize("NFKC", number).upper()  # full-width digits: "表１" is Table 1
    part = ROMAN_PART.match(number)
    if ARABIC_NUMBER.match(number):
        # "3", "S2", "2.1", "2-1", "A1", "B.1"; "A-1" is "A1"
        canonical = re.sub(r"^([A-Z])-", r"\1", number)
    elif part and roman_to_int(part["part"]) is not None:
        canonical = f"{roman_to_int(part['part'])}.{part['number']}"  # "VIII.1" -> "8.1"
    elif cjk_numeral_to_int(number) is not None:
        canonical = str(cjk_numeral_to_int(number))  # "表二" -> "Table 2"
    elif number[0] == "S" and len(number) > 1 and roman_to_int(number[1:]) is not None:
        canonical = f"S{roman_to_int(number[1:])}"  # "Table SI" -> "Table S1"
    else:
        value = roman_to_int(number)
        if value is None:
            return None
        canonical = str(value)
    # "Extended Data Fig. 1", a guideline's "Recommendation Table 2" and a report's "Box Figure 1.1"
    # (a chart inside a numbered box of text) are series of their own
    prefix = ""
    if data_table:
        prefix = "Data table for "
    elif extended and extended.lower().startswith(("extended", "recommendation", "box")):
        prefix = " ".join(word.capitalize() for word in extended.split()) + " "
    if extended and extended.lower().startswith("supplementary") and canonical[0].isdigit():
        canonical = f"S{canonical}"  # "Supplementary Figure 4" is numbered apart from "Figure 4"
    return CaptionLabel(kind, f"{prefix}{name} {canonical}")


def closed_up(text: str) -> str:
    """The text with a label word that its type or its text layer spaced out read closed up:
    "F I G U R E 1", "F I G . 1 .", "T A B L E.", "TABL E 1.", "TA B LE 1"."""
    spaced = LETTER_SPACED.match(text)
    if spaced is not None:
        rest = SPACED_STOP.sub(".", text[spaced.end() :])
        return spaced[1] + spaced[2].replace(" ", "") + rest
    after_number = NUMBER_BEFORE_WORD.match(text)
    if after_number is not None:
        indent, number, word = after_number.groups()
        return f"{indent}{word[0].upper()}{word[1:]} {number}{text[after_number.end() :]}"
    broken = BROKEN_CAPITALS.match(text)
    if broken is not None and LABEL_WORD.match(broken[2].replace(" ", "")):
        return broken[1] + broken[2].replace(" ", "") + text[broken.end() :]
    return text


# an accent TeX sets as a glyph of its own before its letter, read so by the text layer ("Obr´azek",
# "Tabul´ka", "Rysunek" with "ˇ" or "˚"): the spacing accent and the combining one it stands for
SPACING_ACCENTS = {
    "\u00b4": "\u0301",  # acute
    "\u02c7": "\u030c",  # caron
    "\u02da": "\u030a",  # ring
    "\u00a8": "\u0308",  # diaeresis
    "\u02dd": "\u030b",  # double acute
    "\u02c6": "\u0302",  # circumflex
    "\u02dc": "\u0303",  # tilde
}
# (an acute before a consonant is more often a keyboard's apostrophe than TeX's accent: "Ministry´s")
SPACING_ACCENT = re.compile(
    f"(\u00b4(?=[aeiouyAEIOUY\u0131])|[{''.join(SPACING_ACCENTS).replace(chr(0xB4), '')}])([^\\W\\d_])"
)
DOTLESS = str.maketrans({"\u0131": "i", "\u0237": "j"})  # TeX's \'{\i}: the accent takes the dot's place


def with_accents_on_letters(text: str) -> str:
    """The text with each spacing accent set before a letter put on that letter: "Obr´azek" reads
    "Obrázek", "Estad´ıstica" "Estadística" (TeX's old font encodings write the accent apart)."""
    if not SPACING_ACCENT.search(text):
        return text
    on_letters = SPACING_ACCENT.sub(
        lambda match: match[2].translate(DOTLESS) + SPACING_ACCENTS[match[1]], text
    )
    return unicodedata.normalize("NFC", on_letters)


# Arabic letters in the shapes they take at a word's start, middle or end (presentation forms), as
# some PDF writers put them in the text layer: read as the letters themselves
ARABIC_PRESENTATION_FORM = re.compile("[\ufb50-\ufdff\ufe70-\ufefc]")


def with_plain_arabic_letters(text: str) -> str:
    """The text with Arabic presentation forms read as their letters ("ﺷﮑﻞ" reads "شکل")."""
    return ARABIC_PRESENTATION_FORM.sub(lambda match: unicodedata.normalize("NFKC", match[0]), text)


# a Korean or Chinese label set in brackets: "(그림 1) 텍스트 ...", "<표 2> ...", "【图3】..."
BRACKETED_CJK_LABEL = re.compile(
    r"^\s*(?P<open>[(<\[\u3008\u3010\uff08\uff1c\uff3b])\s*(?P<label>(?:그림|표|图|圖|図|表)\s*[0-9][0-9.\-]*)\s*"
    r"(?P<close>[)>\]\u3009\u3011\uff09\uff1e\uff3d])(?=[ \t\u3000]+\S|[^\s\uac00-\ud7af])"
)  # (a Korean particle right after the bracket, "(그림 1)에서", cites it in a sentence)


def without_label_brackets(text: str) -> str:
    """A bracketed CJK label read as the label alone: "(그림 1) 텍스트" reads "그림 1 텍스트"."""
    return BRACKETED_CJK_LABEL.sub(lambda match: match["label"] + " ", text, count=1)


def label_at_start(text: str) -> re.Match[str] | None:
    """The label the text opens with (a spaced-out label word read closed up, TeX's spacing accents
    put on their letters, Arabic letters in their plain forms, a CJK label out of its brackets), or
    None."""
    plain = closed_up(with_accents_on_letters(with_plain_arabic_letters(without_label_brackets(text))))
    return LABEL_AT_START.match(plain)


def is_label_alone(text: str) -> bool:
    """The line holds a label and nothing more ("Table 1", "FIG. 3.", "Figure 2:"): the caption's
    text comes on the lines under it."""
    match = label_at_start(text)
    return match is not None and not match["rest"].strip(" .:|\u2014\u2013-")


def parse_caption_start(text: str, label_is_bold: bool = False) -> CaptionLabel | None:
    """The label of a caption block, or None when the text does not open like a caption.

    A caption opens with its label followed by punctuation or a line end (`Figure 3.`, `Fig. 3:`,
    `Table IV`), with an upper-case label (`FIG. 3 The`), a bold label (`**Figure 3** The`), or a
    label followed by a capitalised title (`Figure 2 Steps of ...`, `Table 3 Patient ...`, as many
    journals set them). "Figure 3 shows" is body text: a sentence goes on in lower case.
    """
    match = label_at_start(text)
    if not match:
        alone = UNNUMBERED_LABEL.match(closed_up(text))
        return CaptionLabel(alone["word"].lower(), alone["word"].capitalize()) if alone else None
    rest = match["rest"]
    if (match["extended"] or match["word"])[0].islower():
        # "figure 2.10" in lower case continues a sentence; labels are capitalised, unless set in
        # bold small capitals, punctuated and titled ("table 14: Rice Exports ...", the text layer
        # of a report's display face)
        delimited = re.match(r"^\s*[.:]\s+[A-Z]", rest) is not None
        if not (label_is_bold and delimited and not match["extended"]):
            return None
    if match["word"].lower().rstrip(".") in PLURAL_WORDS:
        # (a range the number took whole as a chapter-numbered label, "1-2" before a colon, is
        # closed right after it)
        plate = RANGE_END.match(rest) if "-" in match["number"] else NUMBER_RANGE_CLOSED.match(rest)
        if plate is None:
            return None  # "Figures 2 and 3 ..." cites; a caption names one item (or a plate's range)
        rest = rest[plate.end() - 1 :]  # (read on from the full stop closing the range)
    if rest.lstrip().startswith((")", "]", ",", ";")):
        return None  # "(see Fig. 3) by ...": a citation closing, wherever the line breaks
    # "FIG. 3", "TABLE 2": a caption style, never body text; but "MAP 65-90 mm Hg" is an acronym
    # (mean arterial pressure, maximum a posteriori) and needs what any other label needs
    shouted = match["word"].rstrip(".").isupper() and match["word"].lower() not in ACRONYM_WORDS
    titled = opens_title(rest) or (
        match["word"] in CJK_LABEL_WORDS and CJK_TITLE_START.match(rest) is not None
    )
    if CITING_VERB_AFTER_STOP.match(rest) or CITATION_CLOSED_IN_TITLE.match(rest):
        return None
    continued = CONTINUED.match(rest) is not None  # "Table S7 (continued)" heads a page
    if not (CAPTION_DELIMITER.match(rest) or label_is_bold or shouted or titled or continued):
        return None
    if match["panel"] and not CAPTION_DELIMITER.match(rest):
        return None
    return _normalise(match["word"], match["extended"], match["number"])


# the commonest short words of the languages bilingual journals pair with English
FUNCTION_WORDS = {
    "en": {"the", "of", "and", "in", "to", "with", "for", "is", "are", "by", "on", "from", "as"},
    "es": {"de", "la", "el", "los", "las", "en", "y", "del", "con", "por", "para", "se", "un", "una"},
    "pt": {"de", "da", "do", "dos", "das", "em", "e", "para", "com", "os", "as", "um", "uma", "na", "no"},
    "fr": {"de", "la", "le", "les", "des", "du", "et", "en", "pour", "avec", "un", "une", "sur", "au"},
    "de": {"der", "die", "das", "und", "mit", "von", "den", "im", "für", "des", "ein", "eine", "zur"},
}


def text_language(text: str) -> str | None:
    """The language whose function words the text uses most, if it uses at least three of them
    and clearly more of one language's than of English's (or of English's than of any other)."""
    words = [word.strip(".,;:()").lower() for word in text.split()]
    counts = {
        language: sum(word in vocabulary for word in words) for language, vocabulary in FUNCTION_WORDS.items()
    }
    best = max(counts, key=lambda language: counts[language])
    runner_up = max(count for language, count in counts.items() if language != best)
    if (
        counts[best] < 3
        or (best == "en" and counts[best] <= runner_up)
        or (best != "en" and counts[best] <= counts["en"])
    ):
        return None
    return best


def label_language(text: str) -> str | None:
    """The label word a caption opens with, English forms folded together ("Fig." and "Figure" are
    one word, "Figura" and "図" others): two captions of one item under different words are the
    same caption in two languages."""
    match = label_at_start(text)
    if match is None:
        return None
    word = str(match["word"]).lower().rstrip(".")
    return ENGLISH_LABEL_WORDS.get(word, word)


# the note ending a legend's first part that says where it goes on: "(continued on next page...)"
GOES_ON_OVERLEAF = re.compile(
    r"\(?\s*(?:continued|cont(?:'d|d|\.)?)\s+(?:on|over)\s+(?:the\s+)?(?:next|following|facing)\s+page\W*$"
    r"|\(?\s*continued\s+overleaf\W*$",
    re.IGNORECASE,
)


# the same note set right after the label: "Figure 6 (Continued on following page). Scenarios ..."
# heads its item; the note is no part of the legend
GOES_ON_AFTER_LABEL = re.compile(
    r"\s*\(\s*(?:continued|cont(?:'d|d|\.)?)\s+(?:(?:on|over)\s+(?:the\s+)?(?:next|following|facing)\s+page"
    r"|overleaf)\s*\)",
    re.IGNORECASE,
)


def without_goes_on_note(text: str) -> str:
    """The caption less a note right after its label that says where the item goes on."""
    match = label_at_start(text)
    if match is None:
        return text
    note = GOES_ON_AFTER_LABEL.match(match["rest"])
    if note is None:
        return text
    return text[: match.start("rest")] + match["rest"][note.end() :]


def after_label(text: str) -> str | None:
    """What follows the caption's label, past the label said again before a continuation marker
    ("Figure 1: Figure 1 (continued): ...", as a template that prints its own label writes it)."""
    match = label_at_start(text)
    if match is None:
        return None
    again = label_at_start(match["rest"].lstrip(" .:"))
    return again["rest"] if again is not None and CONTINUED.match(again["rest"]) else match["rest"]


def is_continuation(text: str) -> bool:
    """The caption says its item goes on from an earlier page: "Table 2 (continued)", "Table 2.
    Continued from previous page", "Figure 3 (cont.)", "Table 1. Characteristics (Continued)"."""
    rest = after_label(text)
    return rest is not None and CONTINUED.search(rest) is not None and not GOES_ON_AFTER_LABEL.match(rest)


def opens_continued(text: str) -> bool:
    """The label is followed by the marker itself: "Fig. 1. (continued) exploited a ..."."""
    rest = after_label(text)
    return rest is not None and CONTINUED.match(rest) is not None and not GOES_ON_AFTER_LABEL.match(rest)


def continued_legend(first: str, rest: str) -> str:
    """One legend from its part that ends "(continued)" (or its whole first part) and the part
    under "Fig. 1. (continued)"."""
    head = GOES_ON_OVERLEAF.sub("", CONTINUED.sub("", first)).rstrip()
    after = after_label(rest)
    # (with the marker's own stop: "Figure 8. (continued)." + the legend, "Table 1. (Continued.)")
    tail = CONTINUED.sub("", after, count=1).lstrip(" .:)").strip() if after is not None else rest
    return f"{head} {tail}".strip()


def join_caption_lines(lines: list[str]) -> str:
    """Join wrapped lines, undoing end-of-line hyphenation (`struc-` + `ture` -> `structure`)."""
    text = ""
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[:1].islower():
            text = text[:-1] + line
        elif text.endswith("-") and len(text) > 1 and not text[-2].isspace():
            text = text + line  # a hyphen that stays: "(E)-" + "1,6-octadiene", "Pt-" + "X bonds"
        else:
            text = f"{text} {line}" if text else line
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split body text into sentences without breaking after `Fig.`, `et al.` and friends."""
    pieces = SENTENCE_END.split(text)
    sentences: list[str] = []
    for piece in pieces:
        if sentences and ABBREVIATIONS.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return [sentence.strip() for sentence in sentences if sentence.strip()]


def cited_labels(sentence: str) -> set[str]:
    """Normalised labels a sentence cites: "Figs. 2 and 3b" -> {"Figure 2", "Figure 3"}. "Figure
    3-2" cites both readings, 3 to 2's range and chapter 3's second: the document's labels choose."""
    found: set[str] = set()
    for match in MENTION.finditer(sentence):
        numbers = re.findall(rf"{_ARABIC}|[IVXLC]{{1,7}}", match["numbers"], flags=re.IGNORECASE)
        expanded = _expand_ranges(match["numbers"], numbers)
        expanded += re.findall(rf"(?<![\d.\-]){_CHAPTER_HYPHEN}", match["numbers"])
        for number in expanded:
            label = _normalise(match["word"], match["extended"], number)
            if label:
                found.add(label.label)
    return found


def _expand_ranges(raw: str, numbers: list[str]) -> list[str]:
    """`2-4` cites 2, 3 and 4; other lists stay as written."""
    if (
        len(numbers) == 2
        and re.search(r"\d\s*(?:\u2013|-|to)\s*\d", raw)
        and all(n.isdigit() for n in numbers)
    ):
        low, high = int(numbers[0]), int(numbers[1])
        if 0 < high - low <= 20:
            return [str(value) for value in range(low, high + 1)]
    return numbers


def find_mentions(sentences: list[str], label: str) -> list[str]:
    """The sentences that cite `label`, in reading order, each once."""
    seen: set[str] = set()
    mentions = []
    for sentence in sentences:
        if label in cited_labels(sentence) and sentence not in seen:
            seen.add(sentence)
            mentions.append(sentence)
    return mentions
