"""What kind of figure a pair is (plot, micrograph or photo, diagram, table, other), from what
extraction knows: its kind, whether it is drawn (vector) or a picture (raster), and its caption's
words. Each type gets questions that suit it (prompts.PromptProfile.kinds_for)."""

from __future__ import annotations

import re

PLOT = "plot"
MICROGRAPH = "micrograph"  # micrographs and photographs: pictures of real things
DIAGRAM = "diagram"
TABLE = "table"
OTHER = "other"
FIGURE_TYPES = (PLOT, MICROGRAPH, DIAGRAM, TABLE, OTHER)

CUES = (
    (
        MICROGRAPH,
        re.compile(
            # abbreviations are matched as capitals ("SEM", not "seem"), words in any case
            r"\b(SEM|TEM|STEM|AFM|EBSD|CT|MRI)\b|(?i:\b(micrographs?|microscopy|microscope|fluorescen\w*|"
            r"confocal|histolog\w*|stain(ed|ing)?|photographs?|photos?|optical images?|scale bars?|"
            r"in situ images?|radiographs?|X-ray images?|tomograph\w*)\b)"
        ),
    ),
    (
        DIAGRAM,
        re.compile(
            r"\b(schematics?|diagrams?|illustrations?|workflows?|flow ?charts?|overview|architecture|pipeline|"
            r"framework|set-?up|sketch\w*|cartoons?|concept\w*|mechanism of|model of|algorithm|layout)\b",
            re.IGNORECASE,
        ),
    ),
    (
        PLOT,
        re.compile(
            r"\b(plots?|curves?|versus|vs\.?|as a function of|histograms?|distributions?|spectr(um|a)|"
            r"scatter|bar (chart|graph)s?|charts?|graphs?|trends?|profiles?|isotherms?|patterns?|"
            r"dependence|evolution of|comparison of)\b",
            re.IGNORECASE,
        ),
    ),
)


def figure_type(kind: str | None, caption: str | None, graphics: str | None) -> str:
    """The type of one extracted item.

    Args:
        kind: extraction's `figure` or `table`.
        caption: its caption (cue words decide first).
        graphics: `vector` (drawn: mostly charts), `raster` (a picture) or `mixed`.
    """
    if kind == TABLE:
        return TABLE
    text = caption or ""
    for name, cue in CUES:
        if cue.search(text):
            return name
    if graphics == "vector":
        return PLOT
    return OTHER
