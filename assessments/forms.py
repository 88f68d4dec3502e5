"""Forms of the clinician pages.

``AssessmentForm`` is generated from ``guidelines.vocabulary``: one form field per input
field, in the clinician's order, with its label, unit, range and help. Values are checked
by ``guidelines.validation.input_parse`` (through ``records``), the same gate the API
uses, and its messages (naming the allowed range) are shown beside the fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from guidelines.validation import FieldError, InputError, input_parse
from guidelines.vocabulary import (
    DECIMAL_PLACES,
    FIELDS_BY_PATH,
    PRIOR_ECHO_FIELDS,
    InputField,
    Kind,
    sections,
)

from .choices import Presentation, Setting, Sex
from .models import Encounter, Organization, Patient
from .records import patient_section_for_encounter

# Taken from the patient record at the encounter date, never typed again.
RECORD_FIELDS = ("patient.age_years", "patient.sex")
PRIOR_ECHO_ROWS = 3
# The echo section is long: shown in four groups, each starting at the named field
# (declaration order of the vocabulary).
ECHO_GROUPS = (
    ("echo.modality", "Echo: the study"),
    ("echo.eroa_cm2", "Echo: quantitative"),
    ("echo.jet_area_pct_la", "Echo: qualitative"),
    ("echo.lvef_pct", "Echo: ventricle, atrium, pressures, other valves"),
)
DERIVED_FROM_PISA = ("echo.eroa_cm2", "echo.regurgitant_volume_ml")
BOOLEAN_CHOICES = (("", "Not recorded"), ("true", "Yes"), ("false", "No"))


def _step(spec: InputField) -> str:
    return (
        "1"
        if spec.kind is Kind.INTEGER
        else f"{10**-DECIMAL_PLACES:.{DECIMAL_PLACES}f}"
    )


def form_field(spec: InputField, name: str) -> forms.Field:
    """The form field of one vocabulary field: all optional strings, parsed later by
    ``input_parse`` so the page and the API give the same messages."""
    attrs: dict[str, Any] = {"aria-describedby": f"{name}-hint"}
    if spec.kind is Kind.CHOICE:
        field = forms.ChoiceField(
            choices=[("", "Not recorded"), *spec.choices], required=False
        )
    elif spec.kind is Kind.BOOLEAN:
        field = forms.ChoiceField(choices=BOOLEAN_CHOICES, required=False)
    else:
        attrs.update(
            min=str(spec.minimum), max=str(spec.maximum), step=_step(spec),
            inputmode="numeric" if spec.kind is Kind.INTEGER else "decimal",
        )  # fmt: skip
        field = forms.CharField(
            required=False, max_length=32, widget=forms.NumberInput(attrs=attrs)
        )
    if not isinstance(field.widget, forms.NumberInput):
        field.widget.attrs.update(attrs)
    field.label = spec.label
    field.help_text = spec.help
    field.unit = spec.unit
    field.range_text = (
        "" if spec.kind in (Kind.CHOICE, Kind.BOOLEAN) else spec.range_text
    )
    field.spec = spec
    return field


def _prior_name(index: int, name: str) -> str:
    return f"prior_{index}_{name}"


class AssessmentForm(forms.Form):
    """All contract input fields but the patient's age and sex (from the record)."""

    def __init__(self, *args, encounter: Encounter, **kwargs):
        super().__init__(*args, **kwargs)
        self.encounter = encounter
        self.canonical: dict[str, Any] | None = None
        self._groups: list[tuple[str, list[str]]] = []
        body = encounter.patient.body_values()
        for section in sections():
            names: list[str] = []
            for spec in section.fields:
                if spec.path in RECORD_FIELDS:
                    continue
                self.fields[spec.column] = form_field(spec, spec.column)
                if spec.section == "patient" and spec.name in body:
                    self.fields[spec.column].initial = format(
                        body[spec.name].normalize(), "f"
                    )
                    self.fields[spec.column].widget.attrs["readonly"] = True
                    self.fields[spec.column].help_text = "From the patient record."
                names.append(spec.column)
            if section.key == "echo":
                self._groups.extend(_split_echo(names))
            else:
                self._groups.append((section.title, names))
        self.fields["presentation"].initial = encounter.presentation
        self.fields["etiology"].initial = "unknown"
        self.fields["guideline"].choices = [
            ("", "Default rule set"),
            *FIELDS_BY_PATH["guideline"].choices,
        ]
        for index in range(PRIOR_ECHO_ROWS):
            for spec in PRIOR_ECHO_FIELDS:
                name = _prior_name(index, spec.path)
                self.fields[name] = form_field(spec, name)
                self.fields[name].label = f"{spec.label} (study {index + 1})"

    # --- structure for the template

    def groups(self):
        """``[(title, [BoundField])]`` in the clinician's order."""
        return [
            (title, [self[name] for name in names]) for title, names in self._groups
        ]

    def prior_rows(self):
        return [
            [self[_prior_name(index, spec.path)] for spec in PRIOR_ECHO_FIELDS]
            for index in range(PRIOR_ECHO_ROWS)
        ]

    # --- contract input

    def raw_input(self) -> tuple[dict[str, Any], list[int]]:
        """The contract input as typed (strings), and the form row of each prior echo."""
        data: dict[str, Any] = {}
        for spec in (f for s in sections() for f in s.fields):
            if spec.column not in self.fields:
                continue
            raw = (self.data.get(spec.column) or "").strip()
            if raw == "":
                continue
            if spec.kind is Kind.BOOLEAN:
                value: Any = raw == "true" if raw in ("true", "false") else raw
            else:
                value = raw
            if spec.section:
                data.setdefault(spec.section, {})[spec.name] = value
            else:
                data[spec.path] = value
        studies, rows = [], []
        for index in range(PRIOR_ECHO_ROWS):
            study = {}
            for spec in PRIOR_ECHO_FIELDS:
                raw = (self.data.get(_prior_name(index, spec.path)) or "").strip()
                if raw:
                    study[spec.path] = raw
            if study:
                studies.append(study)
                rows.append(index)
        if studies:
            data["prior_echos"] = studies
        return data, rows

    def clean(self):
        cleaned = super().clean()
        data, rows = self.raw_input()
        try:
            canonical = input_parse(data, require_patient=False)
            canonical["patient"] = patient_section_for_encounter(
                self.encounter, canonical.get("patient", {})
            )
        except InputError as exc:
            for error in exc.errors:
                self._add_field_error(error, rows)
            return cleaned
        canonical.setdefault("presentation", self.encounter.presentation)
        self.canonical = canonical
        return cleaned

    def _add_field_error(self, error: FieldError, rows: list[int]) -> None:
        name = _field_name(error.field, rows)
        if name in self.fields:
            self.add_error(name, error.message)
        else:
            prefix = f"{error.field}: " if error.field else ""
            self.add_error(None, prefix + error.message)


def _split_echo(names: list[str]) -> list[tuple[str, list[str]]]:
    starts = {path.replace(".", "_"): title for path, title in ECHO_GROUPS}
    groups: list[tuple[str, list[str]]] = []
    for name in names:
        if name in starts or not groups:
            groups.append((starts.get(name, "Echocardiography"), []))
        groups[-1][1].append(name)
    return groups


def _field_name(path: str, rows: list[int]) -> str | None:
    """The form field of an error path (``echo.eroa_cm2``, ``prior_echos[1].lvef_pct``)."""
    if path.startswith("prior_echos[") and "]." in path:
        index_text, name = path[len("prior_echos[") :].split("].", 1)
        try:
            return _prior_name(rows[int(index_text)], name)
        except (ValueError, IndexError):
            return None
    if path in RECORD_FIELDS or not path:
        return None
    return path.replace(".", "_")


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "mrn", "given_name", "family_name", "birth_date", "sex",
            "height_cm", "weight_kg",
        ]  # fmt: skip
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}),
            "sex": forms.Select(choices=Sex.choices),
        }

    def __init__(self, *args, organizations, **kwargs):
        """``organizations``: the care sites the user may register a patient in. With
        more than one, the user must choose (no default that could be the wrong one)."""
        super().__init__(*args, **kwargs)
        self.organizations = list(organizations)
        if len(self.organizations) > 1:
            self.fields["organization"] = forms.ModelChoiceField(
                label="Care site",
                queryset=Organization.objects.filter(
                    pk__in=[o.pk for o in self.organizations]
                ).order_by("name"),
                empty_label="Choose the care site",
            )
            self.order_fields(["organization"])
        else:
            self.instance.organization = self.organizations[0]

    @property
    def organization(self) -> Organization:
        """The care site of the new patient (after ``is_valid()``)."""
        if len(self.organizations) > 1:
            return self.cleaned_data["organization"]
        return self.organizations[0]


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Search by name or MRN", required=False, max_length=100)


class EncounterForm(forms.Form):
    occurred_at = forms.DateTimeField(
        label="Date and time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    setting = forms.ChoiceField(choices=Setting.choices, initial=Setting.OUTPATIENT)
    presentation = forms.ChoiceField(
        choices=Presentation.choices, initial=Presentation.CHRONIC
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = timezone.localtime().strftime(
            "%Y-%m-%dT%H:%M"
        )


class GuidelineChoiceForm(forms.Form):
    """Which rule set to compare a stored assessment against."""

    guideline = forms.ChoiceField(choices=())

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guideline"].choices = choices
