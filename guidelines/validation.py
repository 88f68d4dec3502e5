"""Validate an assessment input (CONTRACT section 1) against the vocabulary.

``input_parse`` is the one gate every surface uses (API, pages, ``manage.py evaluate``,
rule-set test cases). It returns the canonical input: a nested dict whose numbers are
``Decimal`` (integers are ``int``), with absent values left out, never guessed.
Errors name the dotted field path and the allowed range. Pure Python, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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


class InputError(Exception):
    """The input was refused; ``errors`` lists every problem found, by field path."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


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
    # numbers
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        fail(f"must be a number in {spec.range_text}")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        fail(f"must be a number in {spec.range_text}")
    if not value.is_finite():
        fail(f"must be a number in {spec.range_text}")
    if spec.kind is Kind.INTEGER:
        if value != value.to_integral_value():
            fail(f"must be a whole number in {spec.range_text}")
        value = int(value)
    elif value.as_tuple().exponent < -DECIMAL_PLACES:
        fail(f"must have at most {DECIMAL_PLACES} decimal places (not rounded)")
    if not (spec.minimum <= value <= spec.maximum):
        fail(f"must be between {spec.minimum} and {spec.maximum}"
             + (f" {spec.unit}" if spec.unit else "") + f", got {raw}")  # fmt: skip
    return value


def _collect(errors: list[FieldError], fn, *args):
    try:
        return fn(*args)
    except InputError as exc:
        errors.extend(exc.errors)
        return None


def input_parse(data: Any, *, require_patient: bool = True) -> dict[str, Any]:
    """Validate ``data`` and return the canonical input, or raise ``InputError``."""
    if not isinstance(data, dict):
        raise InputError([FieldError("", "the assessment input must be a JSON object")])
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key, raw in data.items():
        if key in SECTIONS:
            if raw is None:
                continue
            if not isinstance(raw, dict):
                errors.append(FieldError(key, "must be an object"))
                continue
            section: dict[str, Any] = {}
            for name, value in raw.items():
                path = f"{key}.{name}"
                spec = FIELDS_BY_PATH.get(path)
                if spec is None:
                    errors.append(FieldError(path, "unknown field"))
                    continue
                parsed = _collect(errors, parse_value, spec, value)
                if parsed is not None:
                    section[name] = parsed
            if section:
                clean[key] = section
        elif key == "prior_echos":
            studies = _collect(errors, _parse_prior_echos, raw)
            if studies:
                clean["prior_echos"] = studies
        elif key in FIELDS_BY_PATH:
            parsed = _collect(errors, parse_value, FIELDS_BY_PATH[key], raw)
            if parsed is not None:
                clean[key] = parsed
        else:
            errors.append(FieldError(str(key), "unknown field"))
    if require_patient:
        for path in ("patient.age_years", "patient.sex"):
            section, name = path.split(".")
            if name not in clean.get(section, {}) and not any(
                e.field == path for e in errors
            ):
                errors.append(FieldError(path, "is required"))
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
    specs = {f.path: f for f in PRIOR_ECHO_FIELDS}
    for index, item in enumerate(raw):
        base = f"prior_echos[{index}]"
        if not isinstance(item, dict):
            errors.append(FieldError(base, "must be an object"))
            continue
        study: dict[str, Any] = {}
        for name, value in item.items():
            spec = specs.get(name)
            if spec is None:
                errors.append(FieldError(f"{base}.{name}", "unknown field"))
                continue
            parsed = _collect(errors, parse_value, spec, value, f"{base}.{name}")
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
