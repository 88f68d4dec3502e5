"""Validate an assessment input (CONTRACT section 1) against the vocabulary, and name
the problems of a rule-set document (``RuleSetProblem``) as data.

``input_parse`` is the one gate every surface uses (API, pages, ``manage.py evaluate``,
rule-set test cases). It returns the canonical input: a nested dict whose numbers are
``Decimal`` (integers are ``int``), with absent values left out, never guessed.
Errors name the dotted field path and the allowed range. Pure Python, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from math import ceil, floor, isfinite
from typing import Any

from .vocabulary import (
    DECIMAL_PLACES,
    FIELDS_BY_PATH,
    PRIOR_ECHO_FIELDS,
    PRIOR_ECHOS_MAX,
    SECTIONS,
    InputField,
    Kind,
)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class RuleSetProblem:
    """One problem of a rule-set document, where an editor's form can put it: the
    ``table`` (``ruleset``, ``codes``, ``severity``, ``stage``, ``rule``), the row's
    ``key`` (a code for ``codes``; "" for a whole table), the document ``field``
    (``when``, ``evidence``, ``class`` ...; "" for the whole row) and the ``message``.
    Printed as before problems were data: ``severity[eroa_severe]: <message>``, the
    message naming its field in words."""

    table: str
    key: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.table}[{self.key}]" if self.key else self.table
        return f"{where}: {self.message}"


class InputError(Exception):
    """The input was refused; ``errors`` lists every problem found, by field path."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


# A number given as a string: an optional sign, digits and at most one decimal point
# (CONTRACT section 6). No exponent, no NaN or Infinity, no spaces inside.
PLAIN_DECIMAL = re.compile(r"([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))")
NOT_PLAIN = re.compile(r"\d[eE]|nan|inf", re.IGNORECASE)  # for a precise message
# Longer number strings are refused unread: no field needs more than a few digits.
NUMBER_TEXT_MAX = 40
# Refused values are echoed in the message up to this many characters.
ECHO_MAX = 24


def parse_value(spec: InputField, raw: Any, path: str | None = None) -> Any:
    """Return the typed value of one field, or raise ``InputError`` naming it."""
    path = path or spec.path

    def fail(message: str):
        raise InputError([FieldError(path, message)])

    if raw is None:
        return None
    if spec.kind is Kind.BOOLEAN:
        if not isinstance(raw, bool):
            fail("must be true or false")
        return raw
    if spec.kind is Kind.CHOICE:
        if not isinstance(raw, str) or raw not in spec.choice_values:
            fail(f"must be {spec.range_text}")
        return raw
    value = _number(spec, raw, fail)
    if spec.kind is Kind.INTEGER:
        if value != value.to_integral_value():
            fail(f"must be a whole number in {spec.range_text}")
        return int(value)  # small: within the field's range
    if value.as_tuple().exponent < -DECIMAL_PLACES:
        fail(f"must have at most {DECIMAL_PLACES} decimal places (not rounded)")
    return value


def _number(spec: InputField, raw: Any, fail) -> Decimal:
    """The ``Decimal`` of a number field's raw value, checked against the field's range
    before any conversion whose cost grows with the value (``int`` of ``1e1000000``,
    a string of a million digits): every refusal costs about what a valid value does."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        fail(f"must be a number in {spec.range_text}")
    if isinstance(raw, str):
        if len(raw) > NUMBER_TEXT_MAX:
            fail(
                f"must be a number in {spec.range_text} (at most "
                f"{NUMBER_TEXT_MAX} characters)"
            )
        return _number_from_text(spec, raw.strip(), fail)
    if isinstance(raw, int):
        # Bounds are small: a huge integer is out of range by its size alone.
        if raw.bit_length() > 64 or not spec.minimum <= raw <= spec.maximum:
            _out_of_range(spec, raw, fail)
        return Decimal(raw)
    if isinstance(raw, float):
        if not isfinite(raw):
            fail(f"must be a finite number in {spec.range_text}")
        # The number as written (0.3, not the binary 0.29999...): a repr has at most
        # 17 digits and a bounded exponent, so this costs the same for any float.
        raw = Decimal(repr(raw))
    elif not raw.is_finite():
        fail(f"must be a finite number in {spec.range_text}")
    if not spec.minimum <= raw <= spec.maximum:  # Decimals: cheap to compare
        _out_of_range(spec, raw, fail)
    return raw


def _number_from_text(spec: InputField, text: str, fail) -> Decimal:
    match = PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        if NOT_PLAIN.search(text):
            fail(
                f"must be a number in {spec.range_text} written as plain digits "
                "(with an optional sign and decimal point): no exponent, NaN or Infinity"
            )
        fail(f"must be a number in {spec.range_text}")
    sign, whole, fraction, bare_fraction = match.groups()
    whole = (whole or "").lstrip("0") or "0"
    fraction = (fraction if bare_fraction is None else bare_fraction) or ""
    # More whole digits than the bounds have: out of range, without converting.
    if len(whole) > len(str(int(max(abs(spec.minimum), abs(spec.maximum))))):
        _out_of_range(spec, text, fail)
    if spec.kind is Kind.INTEGER:
        if fraction.rstrip("0"):
            fail(f"must be a whole number in {spec.range_text}")
        fraction = ""  # an integer written "5.000"
    elif len(fraction) > DECIMAL_PLACES:  # trailing zeros too: precision claimed
        fail(f"must have at most {DECIMAL_PLACES} decimal places (not rounded)")
    value = Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")
    if not spec.minimum <= value <= spec.maximum:
        _out_of_range(spec, text, fail)
    return value


def _out_of_range(spec: InputField, raw: Any, fail) -> None:
    if isinstance(raw, int) and raw.bit_length() > 64:
        shown = "a number far out of range"  # never written out in full
    else:
        shown = raw if isinstance(raw, str) else str(raw)
    if len(shown) > ECHO_MAX:
        shown = shown[:ECHO_MAX] + "…"
    fail(
        f"must be between {spec.minimum} and {spec.maximum}"
        + (f" {spec.unit}" if spec.unit else "")
        + f", got {shown}"
    )


# --- the compiled parse ---------------------------------------------------------------
#
# Every field's parser is built once, from its declaration in the vocabulary. It accepts
# the common well-formed value at once (``true``, a listed choice, a JSON number in range
# with at most three decimal places) and hands anything else to ``parse_value``, which
# gives the value or the refusal: what a parser accepts, ``parse_value`` accepts too and
# gives the same (tests/guidelines/test_validation_compiled.py), so no result and no
# message depends on the shortcut.


def field_parser(spec: InputField) -> Callable[..., Any]:
    """The parser of one field: ``parser(raw)`` (or ``parser(raw, path)`` for a field
    inside a list) returns what ``parse_value(spec, raw, path)`` returns, or raises the
    same ``InputError``."""
    if spec.kind is Kind.BOOLEAN:

        def parse_boolean(raw, path=None):
            if raw is True or raw is False:
                return raw
            return parse_value(spec, raw, path)

        return parse_boolean
    if spec.kind is Kind.CHOICE:
        values = frozenset(spec.choice_values)

        def parse_choice(raw, path=None):
            if raw.__class__ is str and raw in values:
                return raw
            return parse_value(spec, raw, path)

        return parse_choice
    # Whole bounds for a JSON integer, compared int to int whatever its size.
    low, high = ceil(spec.minimum), floor(spec.maximum)
    if spec.kind is Kind.INTEGER:

        def parse_integer(raw, path=None):
            if raw.__class__ is int and low <= raw <= high:
                return raw
            return parse_value(spec, raw, path)

        return parse_integer

    def parse_decimal(raw, path=None):
        if raw.__class__ is int:
            if low <= raw <= high:
                return Decimal(raw)
        elif raw.__class__ is float and isfinite(raw):
            value = Decimal(repr(raw))  # the number as written, as in ``_number``
            if (
                spec.minimum <= value <= spec.maximum
                and value.as_tuple().exponent >= -DECIMAL_PLACES
            ):
                return value
        return parse_value(spec, raw, path)

    return parse_decimal


# Top-level keys and section keys -> field name -> parser. Every path is a top-level
# key too, as ``input_parse`` has always read it ({"echo.lvef_pct": 62} is that field).
TOP_LEVEL_PARSERS: dict[str, Callable[..., Any]] = {
    spec.path: field_parser(spec) for spec in FIELDS_BY_PATH.values()
}
SECTION_PARSERS: dict[str, dict[str, Callable[..., Any]]] = {
    section: {
        spec.name: TOP_LEVEL_PARSERS[spec.path]
        for spec in FIELDS_BY_PATH.values()
        if spec.section == section
    }
    for section in SECTIONS
}
PRIOR_ECHO_PARSERS: dict[str, Callable[..., Any]] = {
    spec.path: field_parser(spec) for spec in PRIOR_ECHO_FIELDS
}
REQUIRED_PATIENT_FIELDS = ("age_years", "sex")


def input_parse(data: Any, *, require_patient: bool = True) -> dict[str, Any]:
    """Validate ``data`` and return the canonical input, or raise ``InputError``."""
    if not isinstance(data, dict):
        raise InputError([FieldError("", "the assessment input must be a JSON object")])
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key, raw in data.items():
        parsers = SECTION_PARSERS.get(key)
        if parsers is not None:
            if raw is None:
                continue
            if not isinstance(raw, dict):
                errors.append(FieldError(key, "must be an object"))
                continue
            section: dict[str, Any] = {}
            for name, value in raw.items():
                parse = parsers.get(name)
                if parse is None:
                    errors.append(FieldError(f"{key}.{name}", "unknown field"))
                    continue
                try:
                    parsed = parse(value)
                except InputError as exc:
                    errors.extend(exc.errors)
                    continue
                if parsed is not None:
                    section[name] = parsed
            if section:
                clean[key] = section
        elif key == "prior_echos":
            try:
                studies = _parse_prior_echos(raw)
            except InputError as exc:
                errors.extend(exc.errors)
                continue
            if studies:
                clean["prior_echos"] = studies
        elif key in TOP_LEVEL_PARSERS:
            try:
                parsed = TOP_LEVEL_PARSERS[key](raw)
            except InputError as exc:
                errors.extend(exc.errors)
                continue
            if parsed is not None:
                clean[key] = parsed
        else:
            errors.append(FieldError(str(key), "unknown field"))
    if require_patient:
        patient = clean.get("patient", {})
        for name in REQUIRED_PATIENT_FIELDS:
            path = f"patient.{name}"
            if name not in patient and not any(e.field == path for e in errors):
                errors.append(FieldError(path, "is required"))
    if "echo" in clean:
        errors.extend(_cross_field_errors(clean))
    if errors:
        raise InputError(errors)
    return clean


def _parse_prior_echos(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise InputError([FieldError("prior_echos", "must be a list of objects")])
    if len(raw) > PRIOR_ECHOS_MAX:
        raise InputError(
            [FieldError("prior_echos", f"at most {PRIOR_ECHOS_MAX} prior studies")]
        )
    errors: list[FieldError] = []
    studies = []
    for index, item in enumerate(raw):
        base = f"prior_echos[{index}]"
        if not isinstance(item, dict):
            errors.append(FieldError(base, "must be an object"))
            continue
        study: dict[str, Any] = {}
        for name, value in item.items():
            parse = PRIOR_ECHO_PARSERS.get(name)
            if parse is None:
                errors.append(FieldError(f"{base}.{name}", "unknown field"))
                continue
            try:
                parsed = parse(value, f"{base}.{name}")
            except InputError as exc:
                errors.extend(exc.errors)
                continue
            if parsed is not None:
                study[name] = parsed
        if "months_ago" not in study and not any(
            e.field == f"{base}.months_ago" for e in errors
        ):
            errors.append(FieldError(f"{base}.months_ago", "is required"))
        studies.append(study)
    if errors:
        raise InputError(errors)
    return sorted(studies, key=lambda s: -s["months_ago"])


def _cross_field_errors(clean: dict[str, Any]) -> list[FieldError]:
    """Combinations that cannot be true of one patient; refused, not graded."""
    echo = clean.get("echo", {})
    errors = []
    lvesd, lvedd = echo.get("lvesd_mm"), echo.get("lvedd_mm")
    if lvesd is not None and lvedd is not None and lvesd >= lvedd:
        errors.append(
            FieldError(
                "echo.lvesd_mm",
                f"must be below echo.lvedd_mm ({lvedd} mm): the end-systolic diameter "
                "cannot reach the end-diastolic one",
            )
        )
    return errors
