"""Numbers in text read as quantities (a value and a unit) and checked against the sources. Pure.

A unit is parsed into a family (its dimensions) and a scale: an SI prefix times the unit's own
factor, so "500 MPa" is "0.5 GPa", "20 C", "20 °C" and "20 ℃" are one temperature, and "5 mg/mL"
is "5 g/L". Celsius, kelvin and fahrenheit are separate families: they differ by an offset, which no
prefix expresses. Composition percents (wt%, at%, vol%, mol%) are families of their own too.

An answer's number is
- grounded when it has a unit and the sources state a quantity of the same family whose value,
  scaled, equals it within the answer's rounding (half a unit in its last written digit: "0.5 GPa"
  covers 0.46 GPa, "0.46 GPa" does not cover 0.5 GPa); or when its written value appears in the
  sources bare (its unit may sit in an axis label or a column header) or, for a number the answer
  writes bare, in any form;
- a unit mismatch when the sources write its value only with units that do not match ("0.5 MPa"
  where they say "0.5 GPa") or as a count of things ("12 GPa" where they say "12 samples");
- unknown when they state it nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction

# A family is a product of named dimensions with powers: mg/mL is mass^1 length^-3.
Dimensions = tuple[tuple[str, Fraction], ...]


def dims(**powers: int) -> Dimensions:
    return tuple(sorted((name, Fraction(power)) for name, power in powers.items()))


# Units that take SI prefixes: symbol -> (family, scale).
PREFIXABLE: dict[str, tuple[Dimensions, float]] = {
    "m": (dims(length=1), 1.0),
    "g": (dims(mass=1), 1.0),
    "s": (dims(time=1), 1.0),
    "Hz": (dims(time=-1), 1.0),
    "Pa": (dims(pressure=1), 1.0),
    "bar": (dims(pressure=1), 1e5),
    "N": (dims(force=1), 1.0),
    "J": (dims(energy=1), 1.0),
    "eV": (dims(energy=1), 1.602176634e-19),
    "cal": (dims(energy=1), 4.184),
    "Wh": (dims(energy=1), 3600.0),
    "W": (dims(power=1), 1.0),
    "V": (dims(voltage=1), 1.0),
    "A": (dims(current=1), 1.0),
    "Ah": (dims(current=1, time=1), 3600.0),
    "Ω": (dims(resistance=1), 1.0),
    "ohm": (dims(resistance=1), 1.0),
    "S": (dims(conductance=1), 1.0),
    "F": (dims(capacitance=1), 1.0),
    "T": (dims(magnetic_flux_density=1), 1.0),
    "K": (dims(kelvin=1), 1.0),
    "mol": (dims(amount=1), 1.0),
    "M": (dims(amount=1, length=-3), 1e3),  # molar: mol/L
    "L": (dims(length=3), 1e-3),
    "l": (dims(length=3), 1e-3),
    "Da": (dims(dalton=1), 1.0),
    "B": (dims(byte=1), 1.0),
    "Gy": (dims(dose=1), 1.0),
    "Sv": (dims(dose_equivalent=1), 1.0),
    "Bq": (dims(activity=1), 1.0),
    "rad": (dims(angle=1), 57.29577951308232),
}
# Units written whole (no prefix); tried before prefix + unit, so "min" is not milli-"in".
WHOLE: dict[str, tuple[Dimensions, float]] = {
    "°C": (dims(celsius=1), 1.0),
    "℃": (dims(celsius=1), 1.0),
    "C": (dims(celsius=1), 1.0),  # "20 C" is written for 20 °C far more often than for coulombs
    "degC": (dims(celsius=1), 1.0),
    "°F": (dims(fahrenheit=1), 1.0),
    "℉": (dims(fahrenheit=1), 1.0),
    "°": (dims(angle=1), 1.0),
    "deg": (dims(angle=1), 1.0),
    "Å": (dims(length=1), 1e-10),
    "min": (dims(time=1), 60.0),
    "h": (dims(time=1), 3600.0),
    "hr": (dims(time=1), 3600.0),
    "rpm": (dims(time=-1), 1 / 60),
    "psi": (dims(pressure=1), 6894.757293168),
    "ksi": (dims(pressure=1), 6894757.293168),
    "atm": (dims(pressure=1), 101325.0),
    "Torr": (dims(pressure=1), 101325 / 760),
    "mmHg": (dims(pressure=1), 133.322387415),
    "bp": (dims(base_pairs=1), 1.0),
    "kb": (dims(base_pairs=1), 1e3),
    "%": (dims(fraction=1), 1e-2),
    "‰": (dims(fraction=1), 1e-3),
    "ppm": (dims(fraction=1), 1e-6),
    "ppb": (dims(fraction=1), 1e-9),
    "wt%": (dims(weight_percent=1), 1.0),
    "at%": (dims(atomic_percent=1), 1.0),
    "vol%": (dims(volume_percent=1), 1.0),
    "mol%": (dims(mole_percent=1), 1.0),
}
PREFIXES = {
    "Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "h": 1e2,
    "d": 1e-1, "c": 1e-2, "m": 1e-3, "µ": 1e-6, "μ": 1e-6, "u": 1e-6, "n": 1e-9, "p": 1e-12,
    "f": 1e-15, "a": 1e-18,
}  # fmt: skip
SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻−", "0123456789--")

# A number, in scientific notation too: "1.2 × 10^9", "1.2×10⁹", "1.2e9".
NUMBER = (
    r"(?<![\w.])(?P<numeric>(?P<number>[-+−]?\d+(?:[.,]\d+)*)"
    r"(?:(?:\s?[×x]\s?10(?:\^|\*\*)?|[eE])(?P<power>[-+−⁻]?[0-9⁰¹²³⁴⁵⁶⁷⁸⁹]+)(?![0-9.]))?)"
)
EXPONENT = r"(?:\^?[-−⁻]?[0-9⁰¹²³⁴⁵⁶⁷⁸⁹]+(?:/[0-9]+)?)"
ATOM = rf"[A-Za-zµμΩÅ]+{EXPONENT}?"
# Atoms join by a solidus or a dot ("mg/mL", "N·m"), or by a space before a power ("g cm-3").
COMPOUND = rf"{ATOM}(?:\s?[/·⋅∙]\s?{ATOM}|\s[A-Za-zµμΩÅ]+{EXPONENT})*"
PERCENTS = r"(?:wt|at|vol|mol)\.?\s?%"
QUANTITY = re.compile(
    rf"{NUMBER}(?:(?P<space>[ \u00a0\u2009\u202f]?)(?P<unit>{PERCENTS}|%|‰|℃|℉|°\s?[CF](?![A-Za-z])|°|{COMPOUND}))?"
)
# A number right after one of these is a reference ("Fig. 2C", "panel 3 A"), never a quantity.
REFERENCE = re.compile(
    r"\b(?:fig(?:ure)?s?|tables?|panels?|eqs?|equations?|refs?|sections?|schemes?|chapters?)\.?\s*$",
    re.IGNORECASE,
)
# A bare number before a noun counts things ("12 samples"): a unit on it in an answer is wrong.
COUNTED = re.compile(r"[ \u00a0]([a-z]{3,})\b")
NOT_COUNTED = frozenset(
    """and or nor but to of in at on for from with without within by per than the are was were is
    has had have after before while when which that then into onto over under between up down as
    each about around near respectively times fold versus vs""".split()
)
# "5, 10 and 20 nm", "20-40 °C", "5 ± 0.2 GPa": a number before a list word shares the next one's unit.
LIST_JOIN = re.compile(r"\s*(?:,\s*(?:and|or)?|and|or|to|[-–—~±]|\+/-)\s*$")


@dataclass(frozen=True)
class Unit:
    symbol: str  # as written, normalised ("°C" for "° C", "wt%" for "wt. %")
    family: Dimensions
    scale: float  # times the value: the quantity in the family's reference unit


@dataclass(frozen=True)
class Quantity:
    written: str  # "0.5 GPa", "1,000"
    value: str  # one spelling per value: "1,000" and "1000" are "1000"
    unit: Unit | None
    step: float  # half a unit in the last written digit: the rounding the writer may have done
    counts: str | None = None  # the noun after a bare number ("samples" of "12 samples")

    @property
    def shown(self) -> str:
        return f"{self.written} {self.counts}" if self.counts else self.written

    def scaled(self) -> float | None:
        return None if self.unit is None else float(self.value) * self.unit.scale


@dataclass(frozen=True)
class Grounding:
    quantity: Quantity
    status: str  # GROUNDED, MISMATCH or UNKNOWN
    detail: str  # "0.5 MPa (source: 0.5 GPa)", "500 MPa = 0.5 GPa", ...


GROUNDED = "grounded"
MISMATCH = "unit mismatch"
UNKNOWN = "unknown"


def number_value(text: str) -> str:
    """One spelling per value: "1,000" and "1000", "0.50" and "0.5", "0,5" and "0.5" agree."""
    digits = text.replace("−", "-").lstrip("+")
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", digits):
        digits = digits.replace(",", "")  # thousands separators
    else:
        digits = digits.replace(",", ".")  # a decimal comma
    try:
        value = Decimal(digits).normalize()
    except InvalidOperation:
        return digits
    return format(value, "f")


def rounding_step(text: str) -> float:
    """Half a unit in the last written digit ("0.50" -> 0.005, "1,000" -> 0.5)."""
    digits = text.replace("−", "-").lstrip("+-")
    if not re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", digits):
        digits = digits.replace(",", ".")
    decimals = len(digits.rsplit(".", 1)[1]) if "." in digits else 0
    return 0.5 * 10.0**-decimals


def parse_unit(text: str) -> Unit | None:
    """A unit as written ("MPa", "°C", "mg/mL", "g cm-3", "s⁻¹", "wt.%") or None when it is no unit."""
    compact = re.sub(r"\s+", " ", text.strip())
    percent = re.fullmatch(r"(wt|at|vol|mol)\.?\s?%", compact)
    if percent:
        compact = f"{percent.group(1)}%"
    compact = re.sub(r"^°\s(?=[CF]$)", "°", compact)
    if compact in WHOLE:
        family, scale = WHOLE[compact]
        return Unit(compact, family, scale)
    family_powers: dict[str, Fraction] = {}
    total = 1.0
    # "a/b/c" divides by b and c; a space or a dot multiplies.
    for index, part in enumerate(re.split(r"\s?/(?![0-9])\s?", compact)):
        for atom in re.split(r"\s?[·⋅∙]\s?|\s", part):
            parsed = parse_atom(atom)
            if parsed is None:
                return None
            family, scale = parsed
            sign = -1 if index > 0 else 1
            for name, power in family:
                family_powers[name] = family_powers.get(name, Fraction(0)) + sign * power
            total *= scale**sign
    family = tuple(sorted((name, power) for name, power in family_powers.items() if power))
    return Unit(compact, family, total) if family else None


def parse_atom(atom: str) -> tuple[Dimensions, float] | None:
    """One unit with an optional power: "cm3", "s-1", "m^2", "s⁻¹", "m1/2"."""
    match = re.fullmatch(rf"([A-Za-zµμΩÅ%°℃]+)({EXPONENT})?", atom)
    if not match:
        return None
    symbol, exponent = match.group(1), match.group(2)
    power = Fraction(exponent.translate(SUPERSCRIPTS).lstrip("^")) if exponent else Fraction(1)
    base = WHOLE.get(symbol) or PREFIXABLE.get(symbol)
    if base is None and len(symbol) > 1 and symbol[0] in PREFIXES and symbol[1:] in PREFIXABLE:
        family, scale = PREFIXABLE[symbol[1:]]
        base = family, scale * PREFIXES[symbol[0]]
    if base is None:
        return None
    family, scale = base
    return tuple((name, own * power) for name, own in family), scale ** float(power)


def read_quantities(text: str) -> list[Quantity]:
    """Every number of `text`, with its unit where one is written after it (or after the last
    number of a list it belongs to). A number glued to letters that are no unit ("3D", "2nd") is
    not a number; one after "Fig." or "Table" is a reference, read bare."""
    quantities: list[Quantity] = []
    spans: list[tuple[int, int]] = []  # where each number starts and its digits end
    references: set[int] = set()
    for match in QUANTITY.finditer(text):
        number, power = match.group("number"), match.group("power")
        unit, length = longest_unit(match.group("unit") or "")
        end = match.end("numeric") + (len(match.group("space")) + length if unit else 0)
        if end < len(text) and text[end].isalnum():
            if unit is None and not match.group("space"):
                continue  # "3D", "2nd"
            unit, end = None, match.end("numeric")  # a unit that runs on ("5 msec"): read it bare
        if unit and unit.symbol == "s" and not match.group("space") and re.fullmatch(r"\d{3}0", number):
            continue  # "the 1990s"
        reference = bool(REFERENCE.search(text[max(0, match.start() - 16) : match.start()]))
        if reference:
            unit, end = None, match.end("numeric")
            references.add(len(quantities))
        noun = COUNTED.match(text, match.end("numeric")) if unit is None and not reference else None
        counted = noun.group(1) if noun and noun.group(1).lower() not in NOT_COUNTED else None
        value, step = number_value(number), rounding_step(number)
        if power:  # scientific notation: the mantissa's rounding, scaled alike
            exponent = int(power.translate(SUPERSCRIPTS))
            value = format((Decimal(value).scaleb(exponent)).normalize(), "f")
            step *= 10.0**exponent
        quantities.append(Quantity(text[match.start() : end], value, unit, step, counted))
        spans.append((match.start(), match.end("numeric")))
    # A list shares its unit: "5, 10 and 20 nm" reads as three lengths; walk back from the unit. A
    # comma passes on only a unit passed on itself, so "in 2019, 5 GPa" leaves the year bare.
    passed: set[int] = set()
    for index in range(len(quantities) - 2, -1, -1):
        here, after = quantities[index], quantities[index + 1]
        join = LIST_JOIN.fullmatch(text[spans[index][1] : spans[index + 1][0]])
        if (
            here.unit is not None
            or after.unit is None
            or index in references
            or not join
            or (join.group(0).strip() == "," and index + 1 not in passed)
        ):
            continue
        quantities[index] = replace(here, written=f"{here.written} {after.unit.symbol}", unit=after.unit)
        passed.add(index)
    return quantities


def longest_unit(text: str) -> tuple[Unit | None, int]:
    """The longest leading part of `text` that is a unit, and its length ("GPa H2" -> GPa, 3)."""
    cuts = [match.start() for match in re.finditer(r"\s?[/·⋅∙]\s?(?=[A-Za-zµμΩÅ])|\s(?=[A-Za-zµμΩÅ])", text)]
    for cut in [len(text), *reversed(cuts)]:
        unit = parse_unit(text[:cut]) if cut else None
        if unit is not None:
            return unit, cut
    return None, 0


def same_quantity(answer: Quantity, source: Quantity) -> bool:
    """Same family and, scaled, equal within the answer's rounding."""
    if answer.unit is None or source.unit is None or answer.unit.family != source.unit.family:
        return False
    ours, theirs = answer.scaled(), source.scaled()
    assert ours is not None and theirs is not None
    tolerance = answer.step * answer.unit.scale
    return abs(ours - theirs) <= tolerance * (1 + 1e-9) + 1e-12 * max(abs(ours), abs(theirs))


def ground(answer: Iterable[Quantity], sources: Sequence[Quantity]) -> list[Grounding]:
    """How each of an answer's numbers stands against the sources' (see the module docstring)."""
    bare_values = {source.value for source in sources if source.unit is None and source.counts is None}
    any_values = {source.value for source in sources}
    results = []
    for quantity in answer:
        if quantity.unit is None:
            status = GROUNDED if quantity.value in any_values else UNKNOWN
            results.append(Grounding(quantity, status, quantity.written))
            continue
        match = next((source for source in sources if same_quantity(quantity, source)), None)
        if match is not None:
            results.append(Grounding(quantity, GROUNDED, f"{quantity.written} = {match.written}"))
        elif quantity.value in bare_values:
            results.append(Grounding(quantity, GROUNDED, f"{quantity.written} (source: {quantity.value})"))
        elif quantity.value in any_values:
            written = sorted({s.shown for s in sources if s.value == quantity.value})
            detail = f"{quantity.written} (source: {', '.join(written[:3])})"
            results.append(Grounding(quantity, MISMATCH, detail))
        else:
            results.append(Grounding(quantity, UNKNOWN, quantity.written))
    return results
