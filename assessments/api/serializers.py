"""Serializers of the REST API.

The assessment input serializers are generated from ``guidelines.vocabulary`` (the one
declaration of every input field), so the OpenAPI schema carries every field's type,
enum, range and unit. The serializer the schema names is the one that validates: its
validation is the one parse (``input_parse``; for an encounter ``assessment_input``),
whose errors are the contract's (dotted path, range named). Output serializers list
their fields explicitly; the stored input and result are passed through as stored.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guidelines.services import input_parse
from guidelines.vocabulary import (
    DECIMAL_PLACES,
    INPUT_FIELDS,
    MR_TYPE,
    PRIOR_ECHO_FIELDS,
    PRIOR_ECHOS_MAX,
    SECTION_TITLES,
    SEVERITY,
    STAGE,
    SUBGRADE,
    SURGICAL_RISK,
    SYMPTOM_STATUS,
    InputField,
    Kind,
)

from ..choices import AssessmentStatus, Presentation, ReportStatus, Setting, Sex
from ..inputs import assessment_input

# --- input, from the vocabulary ------------------------------------------------------


def _description(spec: InputField) -> str:
    parts = [spec.label + (f" ({spec.unit})" if spec.unit else "")]
    if spec.kind in (Kind.DECIMAL, Kind.INTEGER):
        parts.append(f"Plausible range {spec.range_text}.")
    if spec.kind is Kind.DECIMAL:
        parts.append("At most 3 decimal places (never rounded).")
    if spec.default:
        parts.append(f'Default "{spec.default}".')
    if spec.help:
        parts.append(spec.help)
    return " ".join(parts)


class InputDecimalField(serializers.FloatField):
    """A decimal input field: a number with at most 3 places (the schema's multipleOf)."""

    decimal_places = DECIMAL_PLACES


def vocabulary_field(spec: InputField, *, required: bool) -> serializers.Field:
    """The serializer field of one vocabulary field (for the schema)."""
    common = {
        "required": required,
        "allow_null": not required,
        "help_text": _description(spec),
    }
    if spec.kind is Kind.CHOICE:
        return serializers.ChoiceField(choices=spec.choices, **common)
    if spec.kind is Kind.BOOLEAN:
        return serializers.BooleanField(**common)
    bounds = {"min_value": spec.minimum, "max_value": spec.maximum}
    if spec.kind is Kind.INTEGER:
        return serializers.IntegerField(
            **{k: int(v) for k, v in bounds.items()}, **common
        )
    return InputDecimalField(**{k: float(v) for k, v in bounds.items()}, **common)


def _serializer(
    name: str, fields: dict, doc: str, *, strict: bool = False
) -> type[serializers.Serializer]:
    """A serializer class; ``strict``: an input refusing unknown fields (the schema
    then says ``additionalProperties: false``)."""
    attrs = {**fields, "__doc__": doc, "__module__": __name__, "strict_input": strict}
    return type(name, (serializers.Serializer,), attrs)


def _section_serializer(section: str, specs: list[InputField], *, required: bool):
    camel = "".join(part.title() for part in section.split("_"))
    if section == "patient":
        camel = "Patient" if required else "PatientFromRecord"
    return _serializer(
        f"{camel}InputSection",
        {s.name: vocabulary_field(s, required=required and s.required) for s in specs},
        f"{SECTION_TITLES.get(section, section)} (assessment input).",
        strict=True,
    )


SPECS_BY_SECTION: dict[str, list[InputField]] = {}
for _spec in INPUT_FIELDS:
    if _spec.section:
        SPECS_BY_SECTION.setdefault(_spec.section, []).append(_spec)
SECTION_SERIALIZERS = {
    section: _section_serializer(section, specs, required=False)
    for section, specs in SPECS_BY_SECTION.items()
}
PATIENT_REQUIRED_SERIALIZER = _section_serializer(
    "patient", SPECS_BY_SECTION["patient"], required=True
)


def _section_fields(*, require_patient: bool) -> dict[str, serializers.Field]:
    fields = {}
    for section, klass in SECTION_SERIALIZERS.items():
        required = require_patient and section == "patient"
        if required:
            klass = PATIENT_REQUIRED_SERIALIZER
        fields[section] = klass(
            required=required,
            allow_null=not required,
            help_text=SECTION_TITLES.get(section, section),
        )
    return fields


PriorEchoInputSerializer = _serializer(
    "PriorEchoInput",
    {s.path: vocabulary_field(s, required=s.required) for s in PRIOR_ECHO_FIELDS},
    "One earlier echocardiographic LV study (serial comparison).",
    strict=True,
)


class ContractInputSerializer(serializers.Serializer):
    """Validates with the one parse: ``validated_data`` is canonical input (for an
    encounter, given as ``context["encounter"]``: an ``AssessmentInput``). Refused input
    raises ``InputError``, which the API answers with 400 naming every field."""

    require_patient = True

    def run_validation(self, data=serializers.empty):
        encounter = self.context.get("encounter")
        if encounter is not None:
            return assessment_input(encounter=encounter, data=data)
        return input_parse(data, require_patient=self.require_patient)


def _input_serializer(name: str, *, require_patient: bool, doc: str):
    fields = {
        spec.path: vocabulary_field(spec, required=False)
        for spec in INPUT_FIELDS
        if not spec.section
    }
    fields.update(_section_fields(require_patient=require_patient))
    fields["prior_echos"] = serializers.ListField(
        child=PriorEchoInputSerializer(),
        max_length=PRIOR_ECHOS_MAX,
        required=False,
        allow_null=True,
        help_text=f"Serial LV studies (at most {PRIOR_ECHOS_MAX}).",
    )
    attrs = {
        **fields,
        "__doc__": doc,
        "__module__": __name__,
        "strict_input": True,
        "require_patient": require_patient,
    }
    return type(name, (ContractInputSerializer,), attrs)


EvaluateInputSerializer = _input_serializer(
    "AssessmentInput",
    require_patient=True,
    doc="Assessment input (CONTRACT section 1). Unknown fields are refused with 400.",
)
AssessmentCreateInputSerializer = _input_serializer(
    "EncounterAssessmentInput",
    require_patient=False,
    doc=(
        "Assessment input (CONTRACT section 1) for an encounter: `patient` may be left "
        "out (age at the encounter date, sex, height and weight come from the patient "
        "record); a value that contradicts the record is refused with 400."
    ),
)


# --- result (CONTRACT section 2) ----------------------------------------------------


class GuidelineRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    version = serializers.CharField()
    content_hash = serializers.CharField(allow_blank=True)


class SourceSerializer(serializers.Serializer):
    guideline = serializers.CharField(allow_blank=True)
    section = serializers.CharField(allow_blank=True)
    citation = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)
    evidence = serializers.CharField(allow_blank=True)
    verified_from = serializers.CharField(
        allow_blank=True, required=False, help_text="Where the row was verified"
    )
    pending_clinical_verification = serializers.BooleanField()


class DerivationSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    value = serializers.FloatField()
    unit = serializers.CharField(allow_blank=True)
    formula = serializers.CharField()


class FindingSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    value = serializers.JSONField(
        allow_null=True, help_text="The value checked, if any"
    )
    unit = serializers.CharField(allow_blank=True)
    supports = serializers.CharField(allow_null=True)
    tests_for = serializers.CharField(allow_null=True)
    met = serializers.BooleanField(allow_null=True, help_text="null: not measured")
    criterion = serializers.CharField()
    source = SourceSerializer(allow_null=True, help_text="null: a derived check")
    derived = serializers.BooleanField(
        required=False,
        help_text="Present and true when the value was derived (e.g. EROA from PISA, "
        "RVol from Doppler volumes), not measured",
    )


RecommendationSerializer = _serializer(
    "Recommendation",
    {
        "code": serializers.CharField(),
        "title": serializers.CharField(),
        "detail": serializers.CharField(allow_blank=True),
        "class": serializers.CharField(
            allow_blank=True,
            allow_null=True,
            help_text="Class of recommendation; null when the guideline gives none",
        ),
        "level": serializers.CharField(
            allow_blank=True,
            allow_null=True,
            help_text="Level of evidence; null when the guideline gives none",
        ),
        "source": SourceSerializer(),
        "rule": serializers.CharField(),
        "condition": serializers.CharField(),
        "unknowns": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="Present when the recommendation holds whatever the value of "
            "these unrecorded inputs (it is then given with the weakest class it has "
            "among their values)",
        ),
    },
    "One recommendation (or caution) with its source and the rule that fired.",
)


ConditionalSerializer = _serializer(
    "ConditionalRecommendation",
    {
        "code": serializers.CharField(),
        "title": serializers.CharField(),
        "class": serializers.CharField(allow_blank=True, allow_null=True),
        "level": serializers.CharField(allow_blank=True, allow_null=True),
        "source": SourceSerializer(),
        "depends_on": serializers.ListField(
            child=serializers.CharField(),
            help_text="The missing inputs it depends on",
        ),
        "condition": serializers.CharField(
            help_text="Would apply if: the values of those inputs that make it apply"
        ),
    },
    "A recommendation that would apply if a value that is not recorded were recorded "
    "(with the value named in `condition`); never part of `recommendations`.",
)


class MissingSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    reason = serializers.CharField()


class ResultSerializer(serializers.Serializer):
    """Assessment result (CONTRACT section 2), as produced by the rules engine."""

    guideline = GuidelineRefSerializer()
    # The codes of CONTRACT section 2, each with the words the pages show for it.
    mr_type = serializers.ChoiceField(choices=MR_TYPE.choices)
    severity = serializers.ChoiceField(choices=SEVERITY.choices)
    severity_subgrade = serializers.ChoiceField(
        choices=SUBGRADE.choices,
        allow_null=True,
        help_text="Only for moderate MR; null otherwise",
    )
    severity_basis = serializers.CharField(
        allow_blank=True, help_text="Why the grade, in words"
    )
    stage = serializers.ChoiceField(
        choices=STAGE.choices,
        help_text="ACC/AHA 2020 stage of MR (Tables 15 and 19)",
    )
    symptom_status = serializers.ChoiceField(choices=SYMPTOM_STATUS.choices)
    surgical_risk = serializers.ChoiceField(
        choices=SURGICAL_RISK.choices, allow_null=True
    )
    derived = serializers.DictField(child=serializers.FloatField())
    derivations = DerivationSerializer(many=True)
    risk_factors = serializers.ListField(child=serializers.CharField())
    findings = FindingSerializer(many=True)
    recommendations = RecommendationSerializer(many=True)
    cautions = RecommendationSerializer(many=True)
    conditional = ConditionalSerializer(many=True, required=False)
    missing = MissingSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


# --- resources -----------------------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """Refuses unknown fields, as the contract does for assessment input."""

    strict_input = True

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["unknown field"] for name in unknown}
                )
        return super().to_internal_value(data)


class PatientOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    mrn = serializers.CharField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    height_cm = serializers.FloatField(allow_null=True)
    weight_kg = serializers.FloatField(allow_null=True)


class PatientInputSerializer(StrictSerializer):
    """A patient's recorded details; unknown fields are refused with 400."""

    mrn = serializers.CharField(max_length=64, help_text="Medical record number")
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    height_cm = serializers.DecimalField(
        max_digits=9,
        decimal_places=3,
        min_value=50,
        max_value=250,
        required=False,
        allow_null=True,
        coerce_to_string=False,
        help_text="cm",
    )
    weight_kg = serializers.DecimalField(
        max_digits=9,
        decimal_places=3,
        min_value=2,
        max_value=400,
        required=False,
        allow_null=True,
        coerce_to_string=False,
        help_text="kg",
    )


class EncounterOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    occurred_at = serializers.DateTimeField()
    setting = serializers.ChoiceField(choices=Setting.choices)
    presentation = serializers.ChoiceField(choices=Presentation.choices)


class EncounterInputSerializer(StrictSerializer):
    """An encounter; unknown fields are refused with 400."""

    occurred_at = serializers.DateTimeField(required=False, help_text="Default: now")
    setting = serializers.ChoiceField(choices=Setting.choices, required=False)
    presentation = serializers.ChoiceField(choices=Presentation.choices, required=False)


@extend_schema_field(EvaluateInputSerializer)
class StoredInputField(serializers.JSONField):
    """The stored input, as stored (absent values left out); its schema is the input's."""


@extend_schema_field(ResultSerializer)
class StoredResultField(serializers.JSONField):
    """The stored result, exactly as produced; its schema is the result's."""


class AssessmentOutputSerializer(serializers.Serializer):
    """A stored assessment: its input and result exactly as stored, the rule-set version
    that produced the result, and whether it still stands."""

    id = serializers.IntegerField()
    encounter = serializers.IntegerField()
    input = StoredInputField(help_text="The stored input (CONTRACT section 1)")
    result = StoredResultField(help_text="The stored result, as produced")
    rule_set_version = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(
        choices=AssessmentStatus.choices,
        help_text="final; amended (a correction supersedes it); entered_in_error (void)",
    )
    supersedes = serializers.IntegerField(
        allow_null=True, help_text="The assessment this one corrects"
    )
    superseded_by = serializers.IntegerField(
        allow_null=True, help_text="The assessment that corrects this one"
    )
    reason = serializers.CharField(
        allow_blank=True,
        help_text="Why this assessment corrects another, or why it was amended or "
        "voided (the latest of these)",
    )


REASON_HELP = (
    "Why (kept with the assessment and in the audit trail), 1 to 500 characters"
)


class AssessmentAmendInputSerializer(StrictSerializer):
    """A correction: why, and the complete corrected input."""

    reason = serializers.CharField(max_length=500, help_text=REASON_HELP)
    input = AssessmentCreateInputSerializer(
        help_text="The corrected assessment input (CONTRACT section 1), complete: it "
        "replaces the old input, it is not merged with it. `patient` may be left out."
    )


class AssessmentVoidInputSerializer(StrictSerializer):
    """Why the assessment was entered in error."""

    reason = serializers.CharField(max_length=500, help_text=REASON_HELP)


class ReportStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    error = serializers.CharField(required=False)
    requested_at = serializers.DateTimeField()
    url = serializers.CharField(required=False, help_text="The PDF, once ready")


class ReportRequestSerializer(StrictSerializer):
    """Options of a PDF request; unknown fields are refused with 400."""

    regenerate = serializers.BooleanField(
        required=False, help_text="Render again even if a PDF is ready"
    )


class GuidelineVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.CharField()
    status = serializers.CharField()
    guideline = serializers.CharField()
    title = serializers.CharField()
    citation = serializers.CharField()
    url = serializers.CharField(allow_blank=True)
    content_hash = serializers.CharField(allow_blank=True)
    published_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)


class GuidelineSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    default = serializers.BooleanField(help_text="Applied when the input names none")
    active_version = serializers.IntegerField(allow_null=True)
    versions = GuidelineVersionSerializer(many=True)


def page_serializer(item: type[serializers.Serializer], name: str):
    return _serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": item(many=True),
        },
        f"One page of {item.__name__.replace('OutputSerializer', '').lower()}s.",
    )
