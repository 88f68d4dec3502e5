"""The evaluate endpoint sends the engine's result as produced: for every vignette under
every rule set it names, that result is exactly what ``ResultSerializer`` (the schema's
declaration of a result) makes of it, byte for byte once rendered: the same fields in
the same order, the same values and number types."""

import json
from pathlib import Path

import pytest
from rest_framework.renderers import JSONRenderer

from assessments.api.serializers import ResultSerializer
from guidelines.services import guideline_evaluate

DATA = Path(__file__).resolve().parents[2] / "guidelines" / "data"
CASES = [
    pytest.param(vignette, code, id=f"{vignette['id']}.{code}")
    for name in ("vignettes.json", "vignettes_mrcds.json")
    for vignette in json.loads((DATA / name).read_text())
    for code in sorted(vignette["expected"]["profiles"])
]


@pytest.mark.django_db
@pytest.mark.parametrize(("vignette", "code"), CASES)
def test_the_engine_result_is_the_declared_result(vignette, code):
    result = guideline_evaluate(data={**vignette["input"], "guideline": code}).result

    declared = ResultSerializer(result).data

    render = JSONRenderer().render
    assert render(result) == render(declared)


@pytest.mark.django_db
def test_evaluate_answers_with_the_result_as_the_serializer_declares_it(
    ehr, evaluate_input
):
    response = ehr.post("/api/v1/evaluate", evaluate_input, format="json")

    assert response.status_code == 200
    expected = guideline_evaluate(data=evaluate_input).result
    assert response.content == JSONRenderer().render(ResultSerializer(expected).data)
