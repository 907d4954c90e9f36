from __future__ import annotations

import pytest

from cephalo_ray.refine.parsing import RefineError, filter_qa
from cephalo_ray.refine.quantities import (
    GROUNDED,
    MISMATCH,
    UNKNOWN,
    ground,
    parse_unit,
    read_quantities,
)

SOURCE = (
    "Figure 3. Silk fibres (10 µm thick) tested at 20 °C: strength 0.5 GPa, stiffness 1,200 MPa, "
    "5 wt% glycerol, 12 samples, heated at 2 K/min; spun from 10 mg/mL dope at 5, 10 and 20 mm/s; "
    "curves at 25 and 40 °C; modulus 350 (see the axis)."
)


@pytest.mark.parametrize(
    ("answer", "status", "detail"),
    [
        # kept: the same quantity in another unit of its family, within the answer's rounding
        ("500 MPa", GROUNDED, "500 MPa = 0.5 GPa"),
        ("500MPa", GROUNDED, "500MPa = 0.5 GPa"),
        ("0.50 GPa", GROUNDED, "0.50 GPa = 0.5 GPa"),
        ("1.2 GPa", GROUNDED, "1.2 GPa = 1,200 MPa"),
        ("1200000 kPa", GROUNDED, "1200000 kPa = 1,200 MPa"),
        ("1.2 × 10^9 Pa", GROUNDED, "1.2 × 10^9 Pa = 1,200 MPa"),
        ("1.2e9 Pa", GROUNDED, "1.2e9 Pa = 1,200 MPa"),
        ("20 C", GROUNDED, "20 C = 20 °C"),
        ("20 ℃", GROUNDED, "20 ℃ = 20 °C"),
        ("20°C", GROUNDED, "20°C = 20 °C"),
        ("10 um", GROUNDED, "10 um = 10 µm"),
        ("10 μm", GROUNDED, "10 μm = 10 µm"),
        ("0.01 mm", GROUNDED, "0.01 mm = 10 µm"),
        ("10000 nm", GROUNDED, "10000 nm = 10 µm"),
        ("10 g/L", GROUNDED, "10 g/L = 10 mg/mL"),
        ("5 wt.%", GROUNDED, "5 wt.% = 5 wt%"),
        ("120 K/h", GROUNDED, "120 K/h = 2 K/min"),
        ("0.02 m/s", GROUNDED, "0.02 m/s = 20 mm/s"),  # "5, 10 and 20 mm/s" share the unit
        ("25 °C", GROUNDED, "25 °C = 25 °C"),  # "25 and 40 °C"
        ("350 MPa", GROUNDED, "350 MPa (source: 350)"),  # a bare source value: its unit is elsewhere
        ("1000", UNKNOWN, "1000"),
        ("1200", GROUNDED, "1200"),  # "1,200" by value
        # dropped: the value stated with another unit, or another family
        ("0.5 MPa", MISMATCH, "0.5 MPa (source: 0.5 GPa)"),
        ("20 K", MISMATCH, "20 K (source: 20 mm/s, 20 °C)"),  # K and °C differ by an offset, never a prefix
        ("293 K", UNKNOWN, "293 K"),
        ("5 at%", MISMATCH, "5 at% (source: 5 mm/s, 5 wt%)"),
        ("12 GPa", MISMATCH, "12 GPa (source: 12 samples)"),
        ("10 nm", MISMATCH, "10 nm (source: 10 mg/mL, 10 mm/s, 10 µm)"),
        # dropped: stated nowhere (a value is not rounded into precision the answer claims)
        ("99 GPa", UNKNOWN, "99 GPa"),
        ("0.46 GPa", UNKNOWN, "0.46 GPa"),
        ("700 MPa", UNKNOWN, "700 MPa"),
    ],
)
def test_answer_quantities_against_the_sources(answer: str, status: str, detail: str) -> None:
    [grounding] = ground(read_quantities(answer), read_quantities(SOURCE))
    assert (grounding.status, grounding.detail) == (status, detail)


def test_units_parse_into_families_and_scales() -> None:
    gpa, mpa, kelvin, celsius = (parse_unit(text) for text in ("GPa", "MPa", "K", "°C"))
    assert gpa and mpa and kelvin and celsius
    assert gpa.family == mpa.family and gpa.scale == 1000 * mpa.scale
    assert kelvin.family != celsius.family
    for same in (("° C", "℃", "C", "degC"), ("µm", "μm", "um"), ("wt%", "wt.%", "wt %")):
        units = [parse_unit(text) for text in (*same, "°C" if "C" in same else same[0])]
        assert len({unit.family for unit in units if unit}) == 1 and all(units), same
    assert parse_unit("mL").family == parse_unit("cm3").family  # type: ignore[union-attr]
    assert parse_unit("Hz").family == parse_unit("s-1").family == parse_unit("s⁻¹").family  # type: ignore[union-attr]
    assert parse_unit("g cm-3").family == parse_unit("kg/m3").family  # type: ignore[union-attr]
    assert parse_unit("MPa m1/2") is not None and parse_unit("eV") is not None
    for word in ("samples", "strain", "and", "D", "nd", "msec"):
        assert parse_unit(word) is None, word


def test_reading_numbers_in_prose() -> None:
    text = (
        "Fig. 2C shows 3D scans of H2O at 20-40 °C, 5 ± 0.2 GPa; in 2019, 5 GPa; 1.5-fold; 3 strain rates; "
        "since the 1990s, 2 × 10⁻³ s; 5 msec; 7 GPa H2O"
    )
    read = [
        (quantity.written, quantity.unit.symbol if quantity.unit else None)
        for quantity in read_quantities(text)
    ]
    assert read == [
        ("2", None),  # a reference, not 2 °C
        ("20 °C", "°C"),
        ("40 °C", "°C"),
        ("5 GPa", "GPa"),
        ("0.2 GPa", "GPa"),
        ("2019", None),  # a comma alone does not pass a unit on
        ("5 GPa", "GPa"),
        ("1.5", None),
        ("3", None),
        ("2 × 10⁻³ s", "s"),
        ("5", None),  # no unit this table knows
        ("7 GPa", "GPa"),  # the longest part that is a unit
    ]
    assert read_quantities("2 × 10⁻³ s")[0].value == "0.002"


def test_filter_qa_uses_unit_families() -> None:
    caption = "Figure 4. Fibres yield at 0.5 GPa and 20 °C."
    kept = {"kind": "what", "query": "Where do fibres yield?", "answer": "They yield at 500 MPa at 20 C."}
    wrong = {"kind": "what", "query": "Where do they yield?", "answer": "They yield at 0.5 MPa at 20 C."}
    invented = {"kind": "what", "query": "What is the modulus?", "answer": "The modulus is 99 GPa at 20 C."}
    parsed = filter_qa([kept, wrong, invented], caption, [])
    assert parsed.qa == [kept]
    assert parsed.dropped == [
        "what: units differ from the source: 0.5 MPa (source: 0.5 GPa)",
        "what: numbers found in no source: 99 GPa",
    ]
    with pytest.raises(RefineError, match="numbers found in no source: 99 GPa"):
        filter_qa([invented], caption, [])
