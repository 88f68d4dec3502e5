"""Forms of the clinician pages.

``AssessmentForm`` is generated from ``guidelines.vocabulary``: one form field per input
field, in the clinician's order, with its label, unit, range and help. Values are checked
by ``inputs.assessment_input`` (the one parse), the same gate the API
uses, and its messages (naming the allowed range) are shown beside the fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from guidelines.services import FieldError, InputError
from guidelines.vocabulary import (
    FIELDS_BY_PATH,
    PRIOR_ECHO_FIELDS,
    InputField,
    Kind,
    sections,
)

from .choices import Presentation, Setting, Sex
from .inputs import AssessmentInput, assessment_input
from .models import Encounter, Organization, Patient

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
# NYHA functional classification (Criteria Committee of the New York Heart Association).
NYHA_CHOICES = (
    ("", "Not recorded"),
    ("1", "I: no limitation of physical activity"),
    ("2", "II: slight limitation; comfortable at rest"),
    ("3", "III: marked limitation; comfortable at rest"),
    ("4", "IV: symptoms at rest or on any activity"),
)
CHOICE_FIELDS = {"symptoms.nyha_class": NYHA_CHOICES}
# A decimal comma is refused, not guessed: "1,200" could be 1.2 or 1200 (BNP in pg/mL).
DECIMAL_COMMA_MESSAGE = (
    "use a point as the decimal separator ({example}, not {typed}): a comma is "
    "refused because 1,200 could mean 1.2 or 1200"
)
SECTION_ORDER = (
    "echo",
    "",
    "symptoms",
    "patient",
    "risk_factors",
    "signs",
    "hemodynamics",
    "ecg",
    "chest_xray",
    "labs",
    "management",
)


def form_field(spec: InputField, name: str) -> forms.Field:
    """The form field of one vocabulary field: all optional strings, parsed later by
    ``input_parse`` so the page and the API give the same messages."""
    attrs: dict[str, Any] = {"aria-describedby": f"{name}-hint"}
    if spec.path in CHOICE_FIELDS:
        field = forms.ChoiceField(choices=CHOICE_FIELDS[spec.path], required=False)
    elif spec.kind is Kind.CHOICE:
        field = forms.ChoiceField(
            choices=[("", "Not recorded"), *spec.choices], required=False
        )
    elif spec.kind is Kind.BOOLEAN:
        field = forms.ChoiceField(choices=BOOLEAN_CHOICES, required=False)
    else:
        # A text input, parsed on the server: a browser's number input sends "" for
        # what it cannot parse (42e, 0,8), which would drop a typed value silently.
        attrs.update(
            inputmode="numeric" if spec.kind is Kind.INTEGER else "decimal",
            autocomplete="off",
            spellcheck="false",
            size="8",
        )
        field = forms.CharField(
            required=False,
            max_length=32,
            strip=False,
            widget=forms.TextInput(attrs=attrs),
        )
        field.numeric = True
    if not isinstance(field.widget, forms.TextInput):
        field.widget.attrs.update(attrs)
    field.label = spec.label
    field.help_text = spec.help
    field.unit = spec.unit
    field.range_text = (
        ""
        if spec.kind in (Kind.CHOICE, Kind.BOOLEAN) or spec.path in CHOICE_FIELDS
        else range_words(spec)
    )
    field.spec = spec
    return field


def range_words(spec: InputField) -> str:
    """``0 to 2 cm²`` (the plausible range in words, not ``0..2``)."""
    unit = f" {spec.unit}" if spec.unit else ""
    return f"{spec.minimum} to {spec.maximum}{unit}"


def _prior_name(index: int, name: str) -> str:
    return f"prior_{index}_{name}"


class AssessmentForm(forms.Form):
    """All contract input fields but the patient's age and sex (from the record)."""

    def __init__(self, *args, encounter: Encounter, with_reason=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.encounter = encounter
        self.input: AssessmentInput | None = None  # canonical input once valid
        self._groups: list[tuple[str, list[str]]] = []
        body = encounter.patient.body_values()
        if with_reason:
            self.fields["reason"] = forms.CharField(
                label="Reason for the correction",
                max_length=500,
                widget=forms.Textarea(
                    attrs={"rows": 2, "aria-describedby": "reason-hint"}
                ),
                help_text="Kept with both assessments and in the audit trail.",
            )
        by_key = {section.key: section for section in sections()}
        for section in (by_key[key] for key in SECTION_ORDER):
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
        """``[(anchor, title, [BoundField])]`` in the clinician's order."""
        return [
            (f"section-{index}", title, [self[name] for name in names])
            for index, (title, names) in enumerate(self._groups)
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
            if self._comma_refused(spec.column, raw):
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
                name = _prior_name(index, spec.path)
                raw = (self.data.get(name) or "").strip()
                if raw and not self._comma_refused(name, raw):
                    study[spec.path] = raw
            if study:
                studies.append(study)
                rows.append(index)
        if studies:
            data["prior_echos"] = studies
        return data, rows

    def _comma_refused(self, name: str, raw: str) -> bool:
        """A number typed with a decimal comma: refused with a message, never read."""
        if "," not in raw or not getattr(self.fields[name], "numeric", False):
            return False
        self.add_error(
            name,
            DECIMAL_COMMA_MESSAGE.format(example=raw.replace(",", "."), typed=raw),
        )
        return True

    def clean(self):
        cleaned = super().clean()
        data, rows = self.raw_input()
        try:
            self.input = assessment_input(encounter=self.encounter, data=data)
        except InputError as exc:
            for error in exc.errors:
                self._add_field_error(error, rows)
        return cleaned

    @property
    def canonical(self) -> dict[str, Any] | None:
        """The canonical input as a dict (``None`` until the form is valid)."""
        return self.input.data if self.input is not None else None

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


def form_initial(data: dict[str, Any]) -> dict[str, str]:
    """Form values of a stored input (for a correction); the patient's values come from
    the record, so they are left out."""
    initial: dict[str, str] = {}
    for spec in (f for s in sections() for f in s.fields):
        if spec.section == "patient":
            continue
        source = data.get(spec.section, {}) if spec.section else data
        value = source.get(spec.name if spec.section else spec.path)
        if value is None:
            continue
        if isinstance(value, bool):
            initial[spec.column] = "true" if value else "false"
        else:
            initial[spec.column] = str(value)
    for index, study in enumerate(data.get("prior_echos", [])[:PRIOR_ECHO_ROWS]):
        for name, value in study.items():
            initial[_prior_name(index, name)] = str(value)
    return initial


class VoidForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this assessment was entered in error (e.g. wrong patient).",
    )


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "height_cm",
            "weight_kg",
        ]
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
