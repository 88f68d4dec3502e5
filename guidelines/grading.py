"""MR severity by the ASE 2017 integrative approach (SPEC 0.2 and 1.3), made deterministic.

The thresholds are rule rows (``SeverityCriterion``); the procedure is this module. The
echo is first *read* against the rows (the trace every result shows):

- each sign row is tested; those ``specific_mild`` (M) and ``specific_severe`` (S) are
  counted among the parameters actually supplied, ``supportive_*`` rows only shown;
- each available quantitative parameter (EROA, RVol, RF; measured, or derived when not
  measured) is put in its band: mild, mild-to-moderate, moderate-to-severe, severe.
  Lower bounds are inclusive (EROA 0.40 is severe, 0.39 moderate-to-severe). Secondary
  MR with an elliptical orifice: the ``secondary_elliptical`` rows lower the severe
  cut-offs; their conditions carry any further gate: ACC/AHA keeps the RF ≥ 50 % of
  SPEC 1.3 step 6 [J]; ESC 2025 Fig. 10 has none (SPEC 0.14 d).

Then ``PROCEDURE`` runs its named steps in order until one settles the grade:

1. ``poor_image_quality`` → ``indeterminate`` (ASE algorithm footnote).
2. ``trace_jet``: no measurable vena contracta, no quantitative value above zero, no
   more than small flow convergence, a tiny or brief jet, and no criterion specific for
   severe MR → ``none_trivial``. A severe-specific sign (flail leaflet, ruptured
   papillary muscle, severe lesion, wall-impinging jet, pulmonary-vein systolic
   reversal, large flow convergence) rules out trace and mild (SPEC 0.14 a): with
   nothing quantified the grade is then ``indeterminate`` at least.
3. ``quantitative_two_grades_apart``: quantitative grades two apart (mild against
   severe) → ``indeterminate``.
4. ``candidate_grade``: S ≥ 4 with M = 0 → severe; M ≥ 4 with S = 0 → mild; else two or
   more quantitative parameters agreeing on a grade (moderate covers both subgrades) →
   that grade, the subgrade being the majority band among them. Quantitative parameters
   with no two on one grade, or fewer than two of them and fewer than four specific
   criteria → ``indeterminate``. Jet area never grades alone, nor does any single
   parameter.
5. ``discordant_findings`` → ``indeterminate``, on the four-band scale: the vena
   contracta row specific for severe MR holding with EROA below its moderate-to-severe
   cut-off (the SPEC's example), or the one specific for mild MR with EROA at or above
   it; a sign specific for severe MR against a mild or mild-to-moderate grade, or one
   specific for mild MR against a moderate-to-severe or severe grade. The message is
   built from the rows, so an edited threshold shows in it.
6. ``settle``: the candidate is the grade (moderate without a majority subgrade warns).

The reading (sign rows and bands) runs as two functions generated once per rule set
(``compile_sign_reader``, ``compile_band_reader``): each parameter read once, each row
tested inline in order, each finding built directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .parameters import BANDS, PARAMETERS
from .specs import (
    FunctionSource,
    Leaf,
    SeverityCriterion,
    inline_branches,
    inline_condition,
)

EROA = "echo.eroa_cm2"
VENA_CONTRACTA = "echo.vena_contracta_cm"
QUANTITATIVE = (
    EROA,
    "echo.regurgitant_volume_ml",
    "echo.regurgitant_fraction_pct",
)
BAND_GRADE = {
    "mild": "mild",
    "mild_to_moderate": "moderate",
    "moderate_to_severe": "moderate",
    "severe": "severe",
}
# Everything the grading procedure reads besides its rows (and the derivation inputs).
GRADING_INPUTS = frozenset(
    {
        *QUANTITATIVE,
        "echo.image_quality",
        "echo.vena_contracta_cm",
        "echo.flow_convergence",
        "echo.jet_timing",
        "echo.jet_area_pct_la",
        "echo.elliptical_orifice",
        "echo.pisa_radius_cm",
        "echo.aliasing_velocity_cm_s",
        "echo.mr_peak_velocity_cm_s",
        "echo.mr_vti_cm",
        "echo.lvot_diameter_cm",
        "echo.lvot_vti_cm",
    }
)


@dataclass
class Grading:
    severity: str
    subgrade: str | None = None
    reason: str = ""
    mild_specific: int = 0
    severe_specific: int = 0
    bands: dict[str, str] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(
        default_factory=list
    )  # the result's, JSON-ready
    warnings: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)


UNITS = {name: param.unit for name, param in PARAMETERS.items()}
BAND_RANK = {band: rank for rank, band in enumerate(BANDS)}


def finding(parameter, value, unit, tests_for, met, criterion, source) -> dict:
    """One line of the result's trace (CONTRACT section 2, ``findings``)."""
    return {
        "parameter": parameter,
        "value": value,
        "unit": unit,
        "supports": tests_for if met else None,
        "tests_for": tests_for,
        "met": met,
        "criterion": criterion,
        "source": dict(source) if source is not None else None,
    }


@dataclass(frozen=True)
class SignRow:
    """A sign row (specific or supportive) with what its finding needs, read once."""

    criterion: SeverityCriterion
    test: Callable[[Mapping[str, Any], set[str]], bool | None]
    tests_for: str  # "mild" or "severe"
    parameters: tuple[tuple[str, str], ...]  # (parameter, unit): the finding names
    # the first one recorded
    text: str
    source: dict[str, Any] | None


@dataclass(frozen=True)
class PreparedRows:
    """A rule set's severity rows arranged for the procedure (built once per set)."""

    signs: tuple[SignRow, ...]
    bands: dict[tuple[str, str], list[SeverityCriterion]]  # (parameter, scope) → rows
    # facts → (findings, met rows, specific-mild count, specific-severe count)
    read_signs: Callable[[Mapping[str, Any]], tuple[list, list, int, int]]
    # (facts, elliptical, findings) → each quantitative parameter's band; adds its
    # finding to findings
    read_bands: Callable[[Mapping[str, Any], bool, list], dict[str, str]]
    eroa_cut_off: Leaf | None  # EROA's moderate-to-severe lower bound
    # the ids of the sign rows whose condition reads the vena contracta only
    vena_contracta_only: frozenset[int] = frozenset()

    @classmethod
    def of(cls, criteria: Sequence[SeverityCriterion]) -> PreparedRows:
        signs, bands = [], {}
        for c in criteria:
            if c.role == "band":
                leaf = c.condition.all_leaves[0]
                bands.setdefault((leaf.parameter, c.scope), []).append(c)
                continue
            signs.append(
                SignRow(
                    c,
                    c.condition.test,
                    "severe" if c.role.endswith("severe") else "mild",
                    tuple(
                        (name, UNITS.get(name, ""))
                        for name in dict.fromkeys(
                            leaf.parameter for leaf in c.condition.all_leaves
                        )
                    ),
                    str(c),
                    c.source.as_dict() if c.source else None,
                )
            )
        cut_off = next(
            (
                row.condition
                for row in bands.get((EROA, "all"), ())
                if row.band == "moderate_to_severe" and isinstance(row.condition, Leaf)
            ),
            None,
        )
        return cls(
            tuple(signs),
            bands,
            compile_sign_reader(signs),
            compile_band_reader(bands),
            cut_off,
            frozenset(
                id(row.criterion)
                for row in signs
                if _reads_only(row.criterion, VENA_CONTRACTA)
            ),
        )


def compile_band_reader(bands) -> Callable:
    """The band step as one generated function (built once per rule set): for each
    quantitative parameter recorded, the highest band whose row holds (rows in
    threshold order; a later row of equal or higher band wins), then, when the
    orifice is elliptical and the band is not yet severe, the ``secondary_elliptical``
    rows (used only when they make it severe); and its finding. For EROA::

        if x0 is not None:
            band, rank, text, source = "mild", 0, None, None
            result = x0 >= v3              (each row's condition, inline)
            if result and r4 >= rank:
                band, rank, text, source = b5, r4, c6, s7
            ...
            if text is None:
                text = c1                  ("EROA below every cut-off → mild")
            bands[p8] = band
            found = f9.copy()              (EROA's finding: parameter, unit, met)
            found["value"] = float(x0) if x0.__class__ is Decimal else x0
            found["supports"] = found["tests_for"] = band
            ...
            findings.append(found)
    """
    src = FunctionSource(Decimal=Decimal)
    bind, value_of = src.bind, src.value_of

    def best_band(rows, band, rank, text, source) -> list[str]:
        lines = [f"{band}, {rank}, {text}, {source} = 'mild', 0, None, None"]
        for row in rows:
            lines += inline_condition(
                row.condition, value_of, bind, "scratch", report=False
            )
            r = bind("r", BAND_RANK[row.band])
            found = f"{bind('b', row.band)}, {r}, {bind('c', str(row))}, " + (
                bind("s", row.source.as_dict()) if row.source else "None"
            )
            lines += [
                f"if result and {r} >= {rank}:",
                f"    {band}, {rank}, {text}, {source} = {found}",
            ]
        return lines

    body: list[str] = []
    for parameter in QUANTITATIVE:
        x = value_of(parameter)
        below = bind("c", f"{PARAMETERS[parameter].display} below every cut-off → mild")
        block = best_band(bands.get((parameter, "all"), ()), *BEST)
        block += ["if text is None:", f"    text = {below}"]
        lowered = bands.get((parameter, "secondary_elliptical"), ())
        if lowered:
            block += [
                "if elliptical and band != 'severe':",
                *("    " + line for line in best_band(lowered, *LOWERED)),
                "    if new_band == 'severe':",
                "        band, text, source = new_band, new_text, new_source",
            ]
        p = bind("p", parameter)
        # the finding starts as a copy of the parameter's own (``finding``: its key
        # order), what the band decides is set in it
        template = finding(
            parameter, None, UNITS.get(parameter, ""), None, True, None, None
        )
        block += [
            f"bands[{p}] = band",
            f"found = {bind('f', template)}.copy()",
            f'found["value"] = float({x}) if {x}.__class__ is Decimal else {x}',
            'found["supports"] = found["tests_for"] = band',
            'found["criterion"] = text',
            "if source is not None:",
            '    found["source"] = source.copy()',
            "findings.append(found)",
        ]
        body += [f"if {x} is not None:", *("    " + line for line in block)]
    lines = [
        "def read_bands(facts, elliptical, findings):",
        "    get = facts.get",
        "    scratch = set()",
        *src.preload(),
        "    bands = {}",
        *("    " + line for line in body),
        "    return bands",
    ]
    return src.function(lines, "read_bands", "<band rows>")


BEST = ("band", "rank", "text", "source")  # the names best_band sets
LOWERED = ("new_band", "new_rank", "new_text", "new_source")


def compile_sign_reader(signs: Sequence[SignRow]) -> Callable:
    """The sign rows read as one generated function (built once per rule set).

    It reads every parameter the rows name once, then for each row in order tests its
    condition on those values (``specs.inline_branches``) and builds its finding, the
    same dict as ``finding`` gives: a copy of one of the row's three findings made
    once (the condition holds, is false, or is unknown: ``met`` and ``supports`` set),
    with the recorded value and the source set in it; it counts the specific rows
    that hold. For a row ``echo.vena_contracta_cm < 0.3 → specific for mild MR`` it
    writes::

        x0 = get(p0)
        ...
        found = f2                  (the row's finding when the condition is false)
        if x0 is None:
            result = None
        else:
            result = x0 < v1
        if result is None:
            found = f3              (... when it is unknown)
        elif result:
            found = f4              (... when it holds)
            met.append(r5)
            mild += 1
        found = found.copy()
        if x0 is not None:
            found["value"] = float(x0) if x0.__class__ is Decimal else x0
        found["source"] = s6.copy()
        found0 = found              (the row's finding; after the last row:
        ...                          findings = [found0, found1, ...], one list made)

    Only names made here enter the source; the parameters, values, texts and sources
    are bound to them (as in ``specs.compile_node``). Absent values are not reported
    by the grading (the ``scratch`` set is never read).
    """
    src = FunctionSource(Decimal=Decimal)
    bind, value_of = src.bind, src.value_of

    def template(row: SignRow, met: bool | None) -> str:
        """The name of the row's finding (``finding``: its key order) when its
        condition's result is ``met``, before the patient's value and the source."""
        first, unit = row.parameters[0]
        return bind("f", finding(first, None, unit, row.tests_for, met, row.text, None))

    body: list[str] = []
    for index, row in enumerate(signs):
        holds = [
            f"found = {template(row, True)}",
            f"met.append({bind('r', row.criterion)})",
        ]
        role = row.criterion.role
        if role in ("specific_mild", "specific_severe"):
            holds.append(f"{'mild' if role == 'specific_mild' else 'severe'} += 1")
        body.append(f"found = {template(row, False)}")
        body += inline_branches(
            row.criterion.condition,
            value_of,
            bind,
            "scratch",
            holds,
            [f"found = {template(row, None)}"],
            report=False,
        )
        body.append("found = found.copy()")
        choices = [(value_of(p), bind("p", p), bind("u", u)) for p, u in row.parameters]
        if len(choices) == 1:
            value = choices[0][0]
        else:  # the first parameter recorded names the finding
            value = "value"
            for i, (x, p, u) in enumerate(choices):
                body += [
                    f"{'if' if i == 0 else 'elif'} {x} is not None:",
                    f"    value = {x}",
                ]
                if i > 0:
                    body += [
                        f'    found["parameter"] = {p}',
                        f'    found["unit"] = {u}',
                    ]
            body += ["else:", "    value = None"]
        body += [
            f"if {value} is not None:",
            f'    found["value"] = float({value}) if {value}.__class__ is Decimal '
            f"else {value}",
        ]
        if row.source is not None:
            body.append(f'found["source"] = {bind("s", row.source)}.copy()')
        body.append(f"found{index} = found")
    lines = [
        "def read_signs(facts):",
        "    get = facts.get",
        "    scratch = set()",
        *src.preload(),
        "    met = []",
        "    mild = severe = 0",
        *("    " + line for line in body),
        f"    findings = [{', '.join(f'found{i}' for i in range(len(signs)))}]",
        "    return findings, met, mild, severe",
    ]
    return src.function(lines, "read_signs", "<sign rows>")


_PREPARED: dict[int, tuple[Sequence[SeverityCriterion], PreparedRows]] = {}


def prepared(criteria: Sequence[SeverityCriterion]) -> PreparedRows:
    """``PreparedRows`` of a compiled tuple of criteria (kept while it is in use)."""
    cached = _PREPARED.get(id(criteria))
    if cached is None or cached[0] is not criteria:
        if len(_PREPARED) > 64:
            _PREPARED.clear()
        cached = _PREPARED[id(criteria)] = (criteria, PreparedRows.of(criteria))
    return cached[1]


def grade_severity(
    facts: Mapping[str, Any],
    criteria: Sequence[SeverityCriterion],
    *,
    secondary: bool,
) -> Grading:
    """Grade MR severity from ``facts`` (dotted paths → values) with ``criteria``: read
    the echo (every criterion, every quantitative band), then run ``PROCEDURE`` in order
    until a step settles the grade."""
    reading = _read(facts, criteria, secondary)
    for step in PROCEDURE:
        if step(reading):
            break
    return reading.grading


@dataclass
class Reading:
    """One echo read against the rows: what the procedure's steps decide from."""

    facts: Mapping[str, Any]
    criteria: Sequence[SeverityCriterion]
    grading: Grading
    met: list[SeverityCriterion]  # the sign rows (specific or supportive) that hold
    rows: PreparedRows  # the criteria arranged (``prepared``)
    grades: list[str]  # the grade of each quantitative parameter's band, in order
    candidate: str | None = None  # the grade the counts or the quantitation point to
    settled_by: str = ""

    @property
    def bands(self) -> dict[str, str]:
        return self.grading.bands

    def indeterminate(self, reason: str, warning: str = "") -> bool:
        self.grading.reason = reason
        if warning:
            self.grading.warnings.append(warning)
        _indeterminate(self.grading, self.facts)
        return True


def _read(facts, criteria, secondary: bool) -> Reading:
    """Every sign row (counted when specific: step 4) and the band of each
    quantitative parameter (with the secondary elliptical cut-offs): the trace."""
    rows = prepared(criteria)
    findings, met, mild_n, severe_n = rows.read_signs(facts)
    get = facts.get

    elliptical = secondary and get("echo.elliptical_orifice") is True
    bands = rows.read_bands(facts, elliptical, findings)

    grading = Grading(
        severity="indeterminate",
        mild_specific=mild_n,
        severe_specific=severe_n,
        bands=bands,
        findings=findings,
    )
    grades = [BAND_GRADE[band] for band in bands.values()]
    return Reading(facts, criteria, grading, met, rows, grades)


# --- the procedure, in order --------------------------------------------------------


def poor_image_quality(r: Reading) -> bool:
    """Step 1: poor image quality → indeterminate (ASE algorithm footnote)."""
    if r.facts.get("echo.image_quality") != "poor":
        return False
    return r.indeterminate("poor image quality (ASE 2017 algorithm footnote)")


def trace_jet(r: Reading) -> bool:
    """Step 2: nothing measurable and no sign specific for severe MR → trace."""
    facts = r.facts
    vc = facts.get(VENA_CONTRACTA)
    if (
        r.grading.severe_specific == 0
        and (vc is None or vc == 0)
        and all(facts.get(p) is None or facts.get(p) == 0 for p in QUANTITATIVE)
        and facts.get("echo.flow_convergence") in (None, "none_or_small")
        and (
            facts.get("echo.jet_timing") == "brief"
            or facts.get("echo.jet_area_pct_la") == 0
        )
    ):
        r.grading.severity = "none_trivial"
        r.grading.reason = "trace jet: no measurable vena contracta or flow convergence"
        return True
    return False


def quantitative_two_grades_apart(r: Reading) -> bool:
    """Step 7 (first part): quantitative grades two apart → indeterminate."""
    grades = r.grades
    if len(grades) < 2 or not ("mild" in grades and "severe" in grades):
        return False  # (mild, moderate, severe: two apart is mild with severe)
    return r.indeterminate(
        "quantitative parameters two grades apart",
        "Discordant quantitative parameters: " + _bands_text(r.bands),
    )


def candidate_grade(r: Reading) -> bool:
    """Steps 3 and 5: four specific signs of one kind and none of the other, else two
    or more quantitative parameters on one grade; otherwise indeterminate."""
    mild_n, severe_n = r.grading.mild_specific, r.grading.severe_specific
    grades = _counts(r.grades)
    agreed = [g for g, n in grades.items() if n >= 2]
    if severe_n >= 4 and mild_n == 0:
        r.candidate, r.settled_by = (
            "severe",
            f"{severe_n} criteria specific for severe MR",
        )
    elif mild_n >= 4 and severe_n == 0:
        r.candidate, r.settled_by = "mild", f"{mild_n} criteria specific for mild MR"
    elif len(agreed) == 1:
        r.candidate = agreed[0]
        r.settled_by = f"{grades[agreed[0]]} concordant quantitative parameters"
    elif len(r.bands) >= 2:
        return r.indeterminate(
            "quantitative parameters disagree (no two on one grade)",
            "Quantitative parameters disagree: " + _bands_text(r.bands),
        )
    else:
        return r.indeterminate(
            "fewer than two quantitative parameters and fewer than four specific "
            "criteria"
        )
    if r.candidate == "moderate":
        r.grading.subgrade = _majority_subgrade(r.bands)
    return False


def discordant_findings(r: Reading) -> bool:
    """Step 7: signs that contradict the candidate grade → indeterminate."""
    discordance = _discordance(r)
    if not discordance:
        return False
    return r.indeterminate(discordance, f"Discordant echo findings: {discordance}")


def settle(r: Reading) -> bool:
    """Step 5 (end): the candidate is the grade; moderate keeps its majority subgrade."""
    r.grading.severity = r.candidate
    r.grading.reason = r.settled_by
    if r.candidate == "moderate" and r.grading.subgrade is None:
        r.grading.warnings.append(
            "Moderate MR: the quantitative parameters split between the "
            "mild-to-moderate and moderate-to-severe subgrades"
        )
    return True


PROCEDURE: tuple[Callable[[Reading], bool], ...] = (
    poor_image_quality,
    trace_jet,
    quantitative_two_grades_apart,
    candidate_grade,
    discordant_findings,
    settle,
)


def _bands_text(bands: dict[str, str]) -> str:
    return ", ".join(f"{p.split('.')[-1]} {b}" for p, b in bands.items())


def _majority_subgrade(bands: dict[str, str]) -> str | None:
    """The moderate subgrade most quantitative parameters share (None on a tie)."""
    counts = sorted(
        _counts(b for b in bands.values() if BAND_GRADE[b] == "moderate").items(),
        key=lambda item: -item[1],
    )
    if counts and (len(counts) == 1 or counts[0][1] > counts[1][1]):
        return counts[0][0]
    return None


def _counts(items) -> dict[str, int]:
    """How often each item occurs, in order of first occurrence (a ``Counter`` costs
    more to build than the whole step at this size)."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


LOW_BANDS = frozenset({"mild", "mild_to_moderate"})
HIGH_BANDS = frozenset({"moderate_to_severe", "severe"})


def _discordance(r: Reading) -> str:
    """Internal inconsistency (SPEC 1.3 step 7), judged on the four-band scale.

    A sign specific for severe MR is discordant with a grade two band steps below severe
    (mild or mild-to-moderate): the SPEC's example is the vena contracta row specific
    for severe MR holding with EROA below its moderate-to-severe cut-off. Mirrored for
    signs specific for mild MR against moderate-to-severe or severe. A sign one band
    step away is not discordant: with 2-3 criteria, ASE lets quantitation decide.
    """
    bands = r.bands
    mild_n, severe_n = r.grading.mild_specific, r.grading.severe_specific
    vc_against_eroa = _vc_against_eroa(r)
    if vc_against_eroa:
        return vc_against_eroa
    level = r.candidate if r.candidate in ("severe", "mild") else r.grading.subgrade
    if severe_n and level in LOW_BANDS:
        return (
            f"{severe_n} sign(s) specific for severe MR against a {_words(level)} grade"
        )
    if mild_n and level in HIGH_BANDS:
        return f"{mild_n} sign(s) specific for mild MR against a {_words(level)} grade"
    if r.candidate == "severe" and set(bands.values()) & LOW_BANDS:
        return "severe signs against a quantitative parameter in the mild-to-moderate range or below"
    if r.candidate == "mild" and set(bands.values()) & HIGH_BANDS:
        return "mild signs against a quantitative parameter in the moderate-to-severe range or above"
    return ""


def _vc_against_eroa(r: Reading) -> str:
    """The vena contracta row specific for severe MR holding with EROA in a low band,
    or the one specific for mild MR with EROA in a high band (SPEC 1.3 step 7)."""
    eroa_band = r.bands.get(EROA)
    if eroa_band is None:
        return ""
    cut_off = r.rows.eroa_cut_off
    vena_contracta_only = r.rows.vena_contracta_only
    for role, against in (
        ("specific_severe", LOW_BANDS),
        ("specific_mild", HIGH_BANDS),
    ):
        if eroa_band not in against:
            continue
        for row in r.met:
            if row.role == role and id(row) in vena_contracta_only:
                if cut_off is None:
                    return f"{row.condition} with EROA {_words(eroa_band)}"
                eroa = _negated(cut_off) if against is LOW_BANDS else cut_off
                return f"{row.condition} with {eroa}"
    return ""


def _reads_only(row: SeverityCriterion, parameter: str) -> bool:
    return all(leaf.parameter == parameter for leaf in row.condition.all_leaves)


def _negated(leaf: Leaf) -> Leaf:
    return Leaf(leaf.parameter, NEGATION[leaf.operator], leaf.value, leaf.label)


NEGATION = {">=": "<", ">": "<=", "<": ">=", "<=": ">"}


def _words(band: str) -> str:
    return band.replace("_", "-")


def _indeterminate(grading: Grading, facts: Mapping[str, Any]) -> Grading:
    grading.severity = "indeterminate"
    grading.subgrade = None
    for parameter, why in (
        ("echo.vena_contracta_cm", "vena contracta width is needed to grade severity"),
        (
            "echo.eroa_cm2",
            "EROA (or PISA radius, aliasing and MR velocity) is needed to quantify MR",
        ),
        ("echo.regurgitant_volume_ml", "regurgitant volume is needed to quantify MR"),
        (
            "echo.regurgitant_fraction_pct",
            "regurgitant fraction is needed to quantify MR",
        ),
    ):
        if facts.get(parameter) is None:
            grading.missing.append((parameter, why))
    return grading
