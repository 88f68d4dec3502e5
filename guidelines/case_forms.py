"""The admin form of a rule-set test case: given this input, expect this result.

A test case is edited as a form, never as JSON: one field per input field of the
vocabulary (grouped as the clinician's form is), prior studies as rows, and the
expectation as choices from the result vocabulary. Numbers are typed as text and parsed
by ``input_parse`` (the one gate), so no typed value is ever dropped; each refusal is
shown at its field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms

from .models import RuleSetTestCase
from .parameters import (
    CONTRACT_CODES,
    EXTRA_CODES,
    MR_TYPES,
    SEVERITIES,
    STAGES,
    SUBGRADES,
    value_label,
)
from .validation import InputError, input_parse
from .vocabulary import INPUT_FIELDS, PRIOR_ECHO_FIELDS, Kind

PRIOR_ROWS_EXTRA = 2  # empty prior-study rows offered below the stored ones
ANY_OF_GROUPS = 3  # "at least one of these sets recommended whole"
EXPECTED_CHOICES = {  # expectation key -> (values, words of ``value_label``)
    "severity": SEVERITIES,
    "stage": STAGES,
    "mr_type": MR_TYPES,
    "severity_subgrade": SUBGRADES,
}
EXPECTED_ALSO = {"acceptable_severity": "severity", "acceptable_stages": "stage"}
EXPECTED_CODES = ("required", "must_not")
KNOWN_CODES = frozenset(CONTRACT_CODES + EXTRA_CODES)
BOOLEAN_CHOICES = [("", "not recorded"), ("true", "yes"), ("false", "no")]


def input_field_name(path: str) -> str:
    """The form field of an input path: ``echo.eroa_cm2`` -> ``in_echo_eroa_cm2``."""
    return "in_" + path.replace(".", "_")


def prior_field_name(row: int, name: str) -> str:
    return f"prior_{row}_{name}"


def _field_label(spec) -> str:
    return f"{spec.label} ({spec.unit})" if spec.unit else spec.label


def _input_form_field(spec) -> forms.Field:
    label = _field_label(spec)
    if spec.kind is Kind.CHOICE:
        return forms.ChoiceField(
            label=label,
            required=False,
            help_text=spec.help,
            choices=[("", "not recorded"), *spec.choices],
        )
    if spec.kind is Kind.BOOLEAN:
        return forms.ChoiceField(
            label=label, required=False, help_text=spec.help, choices=BOOLEAN_CHOICES
        )
    bounds = f"{spec.minimum} to {spec.maximum}" + (
        f" {spec.unit}" if spec.unit else ""
    )
    help_text = " ".join(part for part in (spec.help, f"Plausible: {bounds}.") if part)
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
    )


def _stored_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_number(value: Decimal) -> int | float:
    """A canonical number as JSON: whole numbers as integers, others as the float
    whose shortest repr is the same decimal (at most three places, CONTRACT 6)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _codes_widget() -> forms.CheckboxSelectMultiple:
    """Every code as a checkbox (about 30, laid out in columns by the admin CSS), so
    the chosen ones are always in view."""
    return forms.CheckboxSelectMultiple(attrs={"class": "code-choices"})


CODE_CHOICES = [(code, code) for code in sorted(KNOWN_CODES)]
EXPECTED_LABELS = {
    "severity": "Expected severity",
    "stage": "Expected stage",
    "mr_type": "Expected MR type",
    "severity_subgrade": "Expected subgrade (when moderate)",
}


class TestCaseForm(forms.ModelForm):
    """A rule-set test case: given this input, expect this result. The input and the
    expectation are stored as JSON and edited only through these fields."""

    class Meta:
        model = RuleSetTestCase
        fields = ["rule_set", "name", "description", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.instance.input if self.instance.pk else {}
        expected = self.instance.expected if self.instance.pk else {}
        for spec in INPUT_FIELDS:
            name = input_field_name(spec.path)
            self.fields[name] = _input_form_field(spec)
            self.initial.setdefault(name, _stored_text(input_lookup(data, spec.path)))
        priors = data.get("prior_echos") or []
        self.prior_rows = len(priors) + PRIOR_ROWS_EXTRA
        for row in range(self.prior_rows):
            study = priors[row] if row < len(priors) else {}
            for spec in PRIOR_ECHO_FIELDS:
                name = prior_field_name(row, spec.path)
                self.fields[name] = _input_form_field(spec)
                self.fields[name].label = f"Prior study {row + 1}: {_field_label(spec)}"
                self.initial.setdefault(name, _stored_text(study.get(spec.path)))
        self._add_expected_fields(expected)

    def _add_expected_fields(self, expected: dict[str, Any]) -> None:
        for key, values in EXPECTED_CHOICES.items():
            self.fields[f"exp_{key}"] = forms.ChoiceField(
                label=EXPECTED_LABELS[key],
                required=False,
                choices=[
                    ("", "not checked"),
                    *((v, value_label(key, v)) for v in values),
                ],
            )
            self.initial.setdefault(f"exp_{key}", expected.get(key, ""))
        for key, kind in EXPECTED_ALSO.items():
            self.fields[f"exp_{key}"] = forms.MultipleChoiceField(
                label=f"Also acceptable ({kind})",
                required=False,
                choices=[(v, value_label(kind, v)) for v in EXPECTED_CHOICES[kind]],
                widget=forms.CheckboxSelectMultiple,
            )
            self.initial.setdefault(f"exp_{key}", expected.get(key, []))
        labels = {
            "required": "Must recommend (each of these)",
            "must_not": "Must not recommend (none of these)",
        }
        for key in EXPECTED_CODES:
            self.fields[f"exp_{key}"] = forms.MultipleChoiceField(
                label=labels[key],
                required=False,
                choices=CODE_CHOICES,
                widget=_codes_widget(),
            )
            self.initial.setdefault(f"exp_{key}", expected.get(key, []))
        any_of = expected.get("required_any_of") or []
        for group in range(max(ANY_OF_GROUPS, len(any_of))):
            name = f"exp_required_any_of_{group}"
            self.fields[name] = forms.MultipleChoiceField(
                label=f"Set {group + 1}",
                required=False,
                choices=CODE_CHOICES,
                widget=_codes_widget(),
                help_text="At least one of these sets is recommended whole."
                if group == 0
                else "",
            )
            self.initial.setdefault(name, any_of[group] if group < len(any_of) else [])

    @property
    def any_of_groups(self) -> int:
        return sum(1 for name in self.fields if name.startswith("exp_required_any_of_"))

    def clean(self):
        cleaned = super().clean()
        raw, where = self._raw_input(cleaned)
        try:
            canonical = input_parse(raw)
        except InputError as exc:
            for error in exc.errors:
                field = where.get(error.field)
                message = error.message if field else f"{error.field}: {error.message}"
                self.add_error(field, message)
            return cleaned
        self.instance.input = json.loads(
            json.dumps(canonical, default=_json_number, sort_keys=False)
        )
        self.instance.expected = self._expected(cleaned)
        return cleaned

    def _raw_input(self, cleaned) -> tuple[dict[str, Any], dict[str, str]]:
        """The input as typed (numbers as text), and each input path's form field."""
        raw: dict[str, Any] = {}
        where: dict[str, str] = {}
        for spec in INPUT_FIELDS:
            name = input_field_name(spec.path)
            where[spec.path] = name
            text = cleaned.get(name)
            if text in (None, ""):
                continue
            value = (
                {"true": True, "false": False}[text]
                if (spec.kind is Kind.BOOLEAN)
                else text
            )
            section, _, leaf = spec.path.rpartition(".")
            (raw.setdefault(section, {}) if section else raw)[leaf] = value
        studies = []
        for row in range(self.prior_rows):
            study = {
                spec.path: cleaned[prior_field_name(row, spec.path)]
                for spec in PRIOR_ECHO_FIELDS
                if cleaned.get(prior_field_name(row, spec.path)) not in (None, "")
            }
            if study:
                for spec in PRIOR_ECHO_FIELDS:
                    where[f"prior_echos[{len(studies)}].{spec.path}"] = (
                        prior_field_name(row, spec.path)
                    )
                studies.append(study)
        if studies:
            raw["prior_echos"] = studies
        return raw, where

    def _expected(self, cleaned) -> dict[str, Any]:
        """The expectation from the fields; keys this form does not edit are kept."""
        edited = {*EXPECTED_CHOICES, *EXPECTED_ALSO, *EXPECTED_CODES, "required_any_of"}
        stored = self.instance.expected if self.instance.pk else {}
        expected = {k: v for k, v in (stored or {}).items() if k not in edited}
        for key in (*EXPECTED_CHOICES, *EXPECTED_ALSO, *EXPECTED_CODES):
            value = cleaned.get(f"exp_{key}")
            if value:
                expected[key] = value
        groups = [
            cleaned[f"exp_required_any_of_{group}"]
            for group in range(self.any_of_groups)
            if cleaned.get(f"exp_required_any_of_{group}")
        ]
        if groups:
            expected["required_any_of"] = groups
        return expected


def input_lookup(data: dict[str, Any], path: str) -> Any:
    section, _, leaf = path.rpartition(".")
    return (data.get(section) or {} if section else data).get(leaf)
