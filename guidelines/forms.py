"""Admin forms for guideline authoring: rule rows that read as "if ... then ...", a
version's header, and the draft / publish / rollback confirmations (test cases:
``case_forms``).

A rule row's condition is stored as JSON (``conditions.py``) and edited in exactly one
place, so what is shown can never disagree with what is saved: a simple condition as a
parameter / operator / value line (the parameter a choice from the closed vocabulary),
a group (all / any / at least N) as its JSON. The mode follows the stored condition; an
editor turns a simple condition into a group by switching the form to JSON
(``?condition=json``). Its readable text is derived from the saved row. On save the
condition is parsed with ``condition_parse`` and the whole draft is validated with the
edited row (``authoring.version_rows_problems``); each ``RuleSetProblem`` is attached to
the field it names.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.models import construct_instance
from django.utils.html import format_html, format_html_join

from .conditions import ConditionError, condition_parse, condition_to_data
from .models import (
    RecommendationCode,
    RecommendationRuleRow,
    RuleSetVersion,
    SeverityCriterionRow,
    StageCriterionRow,
    VersionStatus,
)
from .parameters import (
    PARAMETERS,
)
from .specs import OPERATORS, SET_OPERATORS
from .validation import RuleSetProblem
from .vocabulary import Kind

OPERATOR_LABELS = {
    "==": "= equals",
    "!=": "≠ differs from",
    "<": "< below",
    "<=": "≤ at most",
    ">": "> above",
    ">=": "≥ at least",
    "in": "in (one of a list)",
    "not_in": "not in (none of a list)",
    "not_recorded_as": "not recorded as (exclusion; absent counts as met)",
    "recorded_as": "recorded as (optional trigger; absent counts as not met)",
    "includes": "includes (recommendations so far)",
    "excludes": "excludes (recommendations so far)",
}
PARAMETER_CHOICES = [("", "— group condition: edit the JSON below —")] + [
    (name, f"{name} · {p.display}") for name, p in PARAMETERS.items()
]
OPERATOR_CHOICES = [("", "—")] + [(op, OPERATOR_LABELS.get(op, op)) for op in OPERATORS]
CONDITION_HELP = (
    'A simple condition is ["parameter", "operator", value], e.g. '
    '["echo.eroa_cm2", ">=", 0.40]. Groups: {"all": [...]}, {"any": [...]}, '
    '{"at_least": 2, "of": [...]}. Operators: '
    + ", ".join(OPERATORS)
    + ". Parameters: the closed vocabulary listed under “Condition vocabulary”."
)
# A rule-set document's field -> the rule row form's field (the others share names).
FORM_FIELDS = {"when": "condition", "class": "cor", "level": "loe"}
LINE, JSON = "line", "json"  # the two ways a condition is edited


def vocabulary_html() -> str:
    """The parameter vocabulary and operators, as a collapsible reference."""

    def allowed(p) -> str:
        if p.kind is Kind.CHOICE:
            return ", ".join(p.choices)
        if p.kind is Kind.BOOLEAN:
            return "true / false"
        if p.minimum is not None:
            return f"{p.minimum}..{p.maximum} {p.unit}".strip()
        return str(p.kind)

    rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (name, p.display, "derived" if p.derived else "input", allowed(p))
            for name, p in PARAMETERS.items()
        ),
    )
    ops = format_html_join(
        ", ", "<code>{}</code> ({})", ((op, OPERATOR_LABELS[op]) for op in OPERATORS)
    )
    return format_html(
        '<details class="condition-vocabulary"><summary>Condition vocabulary '
        "({} parameters, {} operators)</summary><p>{}</p><p>Operators: {}</p>"
        "<table><thead><tr><th>parameter</th><th>label</th><th>kind</th>"
        "<th>allowed values</th></tr></thead><tbody>{}</tbody></table></details>",
        len(PARAMETERS),
        len(OPERATORS),
        CONDITION_HELP,
        ops,
        rows,
    )


def parse_value_text(text: str, operator: str) -> Any:
    """The value typed in the simple-condition line: JSON when it parses (numbers as
    Decimal), else a plain word; for list operators, comma-separated words too."""
    text = text.strip()
    try:
        value = json.loads(text, parse_float=Decimal)
    except ValueError:
        value = text
    if operator in SET_OPERATORS and not isinstance(value, list):
        value = [parse_value_text(part, "") for part in str(text).split(",") if part]
    return value


def value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def condition_mode(condition: Any, asked: str | None = None) -> str:
    """How a stored condition is edited: a group always as JSON; a simple condition (or
    a new row) as a line, unless the editor asked for JSON to write a group."""
    if condition and not (isinstance(condition, list) and len(condition) == 3):
        return JSON
    return JSON if asked == JSON else LINE


def problems_by_field(
    problems: list[RuleSetProblem], *, table: str, key: str, fields
) -> list[tuple[str | None, str]]:
    """Whole-draft problems as (form field, message): a problem of this row goes to the
    field it names when the form has it; any other is form-wide (field None)."""
    out = []
    for problem in problems:
        if (problem.table, problem.key) != (table, key):
            out.append((None, str(problem)))
            continue
        field = FORM_FIELDS.get(problem.field, problem.field)
        if field not in fields:
            field = None
        label = field or "row"
        out.append((field, f"Rule row {key}, field {label}: {problem.message}"))
    return out


class DraftPartForm(forms.ModelForm):
    """Base of the forms of a draft's parts (rule rows, codes): a new part's version
    field offers drafts only, and a part of a published version is refused."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "version" in self.fields:
            self.fields["version"].queryset = RuleSetVersion.objects.filter(
                status=VersionStatus.DRAFT
            ).select_related("rule_set")
            self.fields["version"].help_text = "Only drafts can be changed."

    def _version(self):
        if self.instance.version_id:
            return self.instance.version
        return self.cleaned_data.get("version")

    def _draft_version(self, what: str):
        """The part's version (None before one is chosen); refused unless a draft."""
        version = self._version()
        if version is not None and version.status != VersionStatus.DRAFT:
            raise forms.ValidationError(
                f"{version} is immutable; copy it to a draft to change {what}."
            )
        return version


class RecommendationCodeForm(DraftPartForm):
    """A recommendation code a draft adds; validated with the whole draft, so a code a
    rule row still recommends cannot be renamed away."""

    class Meta:
        model = RecommendationCode
        fields = ["version", "code", "title"]

    def clean(self):
        from .authoring import version_codes_problems

        cleaned = super().clean()
        version = self._draft_version("its codes")
        if version is None or self.errors:
            return cleaned
        code = construct_instance(self, copy.copy(self.instance))
        code.version = version
        for problem in version_codes_problems(version=version, codes=[code]):
            mine = (problem.table, problem.key) == ("codes", code.code)
            field = problem.field if mine and problem.field in self.fields else None
            self.add_error(field, str(problem))
        return cleaned


class RuleRowForm(DraftPartForm):
    """Shared by the three row models: the condition, edited in one place (a line for
    a simple condition, the JSON for a group; ``condition_mode``)."""

    table = ""  # the rule-set document table of the row model
    condition_mode = LINE  # set per request by the admin (``condition_mode()``)

    condition_parameter = forms.ChoiceField(
        label="Parameter", required=False, choices=PARAMETER_CHOICES
    )
    condition_operator = forms.ChoiceField(
        label="Operator", required=False, choices=OPERATOR_CHOICES
    )
    condition_value = forms.CharField(
        label="Value",
        required=False,
        help_text="A number (0.40), a value name (degenerative_prolapse), true / false, "
        "or for in / not_in / not_recorded_as / recorded_as a comma-separated list.",
    )
    condition = forms.JSONField(
        label="Condition (JSON)",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        required=False,
        help_text=CONDITION_HELP,
    )

    url = forms.URLField(
        label="URL",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="The guideline's DOI link",
    )

    LEAF_FIELDS = ("condition_parameter", "condition_operator", "condition_value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        unused = ("condition",) if self.condition_mode == LINE else self.LEAF_FIELDS
        for name in unused:
            self.fields.pop(name, None)
        data = self.instance.condition if self.instance.pk else None
        if self.condition_mode == LINE and isinstance(data, list) and len(data) == 3:
            self.initial["condition_parameter"] = data[0]
            self.initial["condition_operator"] = data[1]
            self.initial["condition_value"] = value_text(data[2])

    def clean(self):
        cleaned = super().clean()
        key = cleaned.get("key") or self.instance.key or "(new row)"
        version = self._draft_version(f"rule {key}")
        condition = self._condition(cleaned, key)
        if condition is None or self.errors or version is None:
            return cleaned
        extra = frozenset(version.codes.values_list("code", flat=True))
        field = self._condition_field()
        try:
            parsed = condition_parse(condition, "", extra)
        except ConditionError as exc:
            at = exc.path or "the top"
            message = f"Rule row {key}, field condition: {exc.message} (at {at})"
            self.add_error(field, message)
            return cleaned
        # The one value saved: the instance's condition, whichever way it was written.
        self.instance.condition = cleaned["condition"] = condition_to_data(parsed)
        self._validate_draft(version, key)
        return cleaned

    def _condition(self, cleaned, key):
        """The condition as written in this form's one editor, or None (with errors)."""
        if self.condition_mode == JSON:
            if cleaned.get("condition") in (None, "", [], {}):
                self.add_error(
                    "condition",
                    f"Rule row {key}, field condition: a condition is required",
                )
                return None
            return cleaned["condition"]
        missing = [name for name in self.LEAF_FIELDS if not cleaned.get(name)]
        for name in missing:
            message = (
                f"Rule row {key}, field condition: a condition needs a parameter, "
                "an operator and a value"
            )
            self.add_error(name, message)
        if missing:
            return None
        operator = cleaned["condition_operator"]
        return [
            cleaned["condition_parameter"],
            operator,
            parse_value_text(cleaned["condition_value"], operator),
        ]

    def _validate_draft(self, version, key):
        from .authoring import version_rows_problems

        row = construct_instance(self, copy.copy(self.instance))
        row.version = version
        problems = version_rows_problems(version=version, rows=[row])
        for field, message in problems_by_field(
            problems, table=self.table, key=row.key, fields=[*self.fields, "condition"]
        ):
            if field == "condition":
                field = self._condition_field()
            self.add_error(field, message)

    def _condition_field(self) -> str:
        """Where a condition's error is shown: the JSON, or the line's value."""
        return "condition" if self.condition_mode == JSON else "condition_value"


class SeverityRowForm(RuleRowForm):
    table = "severity"

    class Meta:
        model = SeverityCriterionRow
        fields = [
            "version",
            "key",
            "position",
            "condition",
            "role",
            "band",
            "scope",
            "guideline",
            "section",
            "citation",
            "url",
            "evidence",
            "verified_from",
        ]


class StageRowForm(RuleRowForm):
    table = "stage"

    class Meta:
        model = StageCriterionRow
        fields = [
            "version",
            "key",
            "position",
            "condition",
            "guideline",
            "section",
            "citation",
            "url",
            "evidence",
            "verified_from",
        ]


class RecommendationRowForm(RuleRowForm):
    table = "rule"

    class Meta:
        model = RecommendationRuleRow
        fields = [
            "version",
            "key",
            "position",
            "condition",
            "code",
            "title",
            "detail",
            "cor",
            "loe",
            "group",
            "kind",
            "guideline",
            "section",
            "citation",
            "url",
            "evidence",
            "verified_from",
        ]


# --- a version's header ----------------------------------------------------------------


class VersionHeaderForm(forms.ModelForm):
    """A draft's header; its notes (a list) are edited as lines of text, not JSON."""

    notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 100}),
        help_text="One note per line.",
    )

    class Meta:
        model = RuleSetVersion
        fields = ["version", "title", "guideline", "citation", "url", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["notes"] = "\n".join(self.instance.notes or [])

    def clean_notes(self) -> list[str]:
        lines = self.cleaned_data["notes"].splitlines()
        return [line.strip() for line in lines if line.strip()]


# --- confirmations -------------------------------------------------------------------


class DraftForm(forms.Form):
    label = forms.CharField(
        max_length=40, help_text="Version label of the new draft, e.g. 2020.2"
    )

    def __init__(self, *args, rule_set, **kwargs):
        super().__init__(*args, **kwargs)
        self.rule_set = rule_set

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if self.rule_set.versions.filter(version=label).exists():
            raise forms.ValidationError(
                f"{self.rule_set} already has a version {label}"
            )
        return label


class PublishForm(forms.Form):
    """The approver's publication: a reason, one reason per changed outcome (each
    field ``ack_<change id>``), and the acknowledgement of [M]/[S] rules. Blank reasons
    are not refused here: the service lists every unacknowledged change at once."""

    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        label="Why this version is published",
        help_text="Shown to clinicians in the guideline changelog.",
    )
    acknowledge_pending = forms.BooleanField(
        required=False,
        label="I acknowledge that the rules marked “pending clinical verification” "
        "([M]/[S]) will be applied to patients as they are.",
    )

    def __init__(self, *args, changes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.changes = list(changes)
        for change in self.changes:
            self.fields[f"ack_{change.id}"] = forms.CharField(
                required=False,
                max_length=1000,
                label=change.text,
                widget=forms.TextInput(attrs={"style": "width: 95%"}),
            )

    def change_rows(self):
        """(change, its reason field) pairs, for the template."""
        return [(c, self[f"ack_{c.id}"]) for c in self.changes]

    def acknowledgements(self) -> dict[str, str]:
        return {c.id: self.cleaned_data.get(f"ack_{c.id}") or "" for c in self.changes}
