"""Golden files: what every vignette produces on every surface, recorded and compared.

For each vignette of ``guidelines/data/vignettes.json`` and ``vignettes_mrcds.json``,
under each rule set it names, one file under ``tests/golden/cases/`` holds:

- ``api_create``: the REST response of storing it as an assessment of an encounter;
- ``api_evaluate``: the response of ``POST /api/v1/evaluate``;
- ``command``: the output of ``manage.py evaluate``;
- ``page``: the text of the result page's main content (whitespace normalised);
- ``pdf``: the text of the PDF summary, rendered by the report service.

Ids and hashes are replaced by placeholders, time is frozen, and the cases run in a
child pytest with a fixed ``PYTHONHASHSEED`` (the order in which the engine words a
"would apply if" condition follows set iteration, which varies with the hash seed), so
a file changes only when what a clinician or an integrator sees changes. A refactor must
leave every file as it is. When a change is meant to alter output (a new evidence tag,
a reworded label), regenerate with ``UPDATE_GOLDEN=1 pytest tests/golden`` and review the
diff like any other change.
"""

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from pypdf import PdfReader
from rest_framework.test import APIClient

from assessments.reports import report_render
from assessments.selectors import assessment_get_for_user
from tests.factories import EncounterFactory, PatientFactory

DATA = Path(__file__).resolve().parents[2] / "guidelines" / "data"
CASES_DIR = Path(__file__).resolve().parent / "cases"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
HASH_SEED = "0"
CHILD = os.environ.get("PYTHONHASHSEED") == HASH_SEED
# Every case runs at this instant: stored times, ages and the PDF's date are fixed.
NOW = dt.datetime(2026, 3, 2, 10, 15, tzinfo=dt.UTC)
ENCOUNTER_AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

VIGNETTES = [
    vignette
    for name in ("vignettes.json", "vignettes_mrcds.json")
    for vignette in json.loads((DATA / name).read_text())
]
ALL_CASES = [
    pytest.param(vignette, code, id=f"{vignette['id']}.{code}")
    for vignette in VIGNETTES
    for code in sorted(vignette["expected"]["profiles"])
]
# The embedded run checks every case; the PostgreSQL run of the same suite every fifth
# (the database stores and reads back what the pages and PDF show; the text itself does
# not depend on it), which keeps both runs of make test within CI's budget.
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
CASES = ALL_CASES[::5] if ON_POSTGRES else ALL_CASES

HASH = re.compile(r"\b[0-9a-f]{64}\b")
ROW_NUMBER = re.compile(r"(?i)\b(assessment|MR-CDS) #\d+\b")
ROW_PATH = re.compile(r"/(assessments|encounters|patients|versions)/\d+\b")


# --- normalisation -----------------------------------------------------------------


def _json_normalised(value, ids: dict[str, str]):
    """``value`` with hashes and the ids of this run's rows replaced by placeholders."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ids and item is not None:
                out[key] = f"<{ids[key]}>"
            else:
                out[key] = _json_normalised(item, ids)
        return out
    if isinstance(value, list):
        return [_json_normalised(item, ids) for item in value]
    if isinstance(value, str):
        return HASH.sub("<hash>", value)
    return value


def _text_normalised(text: str) -> list[str]:
    """Lines of ``text`` with whitespace collapsed, blank lines dropped, hashes and
    row ids (``#12``, ``/assessments/12/``) replaced by placeholders."""
    text = HASH.sub("<hash>", text)
    text = ROW_NUMBER.sub(r"\1 #<id>", text)
    text = ROW_PATH.sub(r"/\1/<id>", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if line]


BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "legend",
    "li",
    "nav",
    "ol",
    "option",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
}
SKIPPED_TAGS = {"script", "style", "template"}


class MainText(HTMLParser):
    """The text inside ``<main>``, one line per block element."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside <main> when > 0
        self.skipping = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        elif self.depth and tag in SKIPPED_TAGS:
            self.skipping += 1
        if self.depth and tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1
        elif self.depth and tag in SKIPPED_TAGS:
            self.skipping -= 1
        if self.depth and tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.depth and not self.skipping:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = MainText()
    parser.feed(html)
    return "".join(parser.parts)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


# --- one case ------------------------------------------------------------------------


def _patient_for(vignette, organization):
    """A patient record agreeing with the vignette's patient section on the day."""
    given = vignette["input"].get("patient", {})
    age = given.get("age_years", 60)
    birth = ENCOUNTER_AT.date().replace(year=ENCOUNTER_AT.year - age)
    body = {
        name: Decimal(str(given[name]))
        for name in ("height_cm", "weight_kg")
        if given.get(name) is not None
    }
    return PatientFactory(
        organization=organization,
        mrn="MRN-GOLDEN",
        given_name="Golden",
        family_name="Vignette",
        birth_date=birth,
        sex=given.get("sex", "female"),
        height_cm=body.get("height_cm"),
        weight_kg=body.get("weight_kg"),
    )


def case_record(vignette, code, clinician, organization, tmp_path) -> dict:
    """Everything the vignette produces under rule set ``code``, normalised."""
    data = {**vignette["input"], "guideline": code}
    patient = _patient_for(vignette, organization)
    encounter = EncounterFactory(
        patient=patient, clinician=clinician, occurred_at=ENCOUNTER_AT
    )
    api = APIClient()
    api.force_login(clinician)
    created = api.post(
        f"/api/v1/encounters/{encounter.pk}/assessments/", data, format="json"
    )
    assert created.status_code == 201, created.content
    evaluated = api.post("/api/v1/evaluate", data, format="json")
    assert evaluated.status_code == 200, evaluated.content

    source = tmp_path / "input.json"
    source.write_text(json.dumps(data))
    out = io.StringIO()
    call_command("evaluate", str(source), stdout=out)

    pk = created.json()["id"]
    browser = Client()
    browser.force_login(clinician)
    page = browser.get(f"/assessments/{pk}/")
    assert page.status_code == 200
    assessment = assessment_get_for_user(clinician, pk)
    pdf = report_render(assessment=assessment)

    ids = {
        "id": "assessment",
        "encounter": "encounter",
        "created_by": "user",
        "rule_set_version": "version",
    }
    return {
        "api_create": _json_normalised(created.json(), ids),
        "api_evaluate": _json_normalised(evaluated.json(), ids),
        "command": _json_normalised(json.loads(out.getvalue()), ids),
        "page": _text_normalised(page_text(page.content.decode())),
        "pdf": _text_normalised(pdf_text(pdf)),
    }


def _child_environment() -> dict[str, str]:
    """This environment with the fixed hash seed; on PostgreSQL, a database name of its
    own (this session may hold the test database already)."""
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        env["DATABASE_URL"] = url + "_golden"
    return env


@pytest.mark.skipif(CHILD, reason="this is the child run")
def test_golden_files_under_a_fixed_hash_seed():
    """Run the cases below in a child pytest whose hash seed is fixed."""
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        env=_child_environment(),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.returncode == 0, child.stdout[-20000:] + child.stderr[-5000:]


@pytest.mark.skipif(not CHILD, reason="run in a child pytest with a fixed hash seed")
@pytest.mark.parametrize(("vignette", "code"), CASES)
def test_vignette_output_is_unchanged(
    vignette, code, clinician, organization, tmp_path
):
    with time_machine.travel(NOW, tick=False):
        record = case_record(vignette, code, clinician, organization, tmp_path)
    path = CASES_DIR / f"{vignette['id']}.{code}.json"
    text = json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE or not path.exists():
        CASES_DIR.mkdir(exist_ok=True)
        path.write_text(text)
        if not UPDATE:
            pytest.fail(f"{path.name} was missing: recorded now, run again")
        return
    stored = json.loads(path.read_text())
    for surface in ("api_create", "api_evaluate", "command", "page", "pdf"):
        assert record[surface] == stored[surface], f"{surface} differs from {path.name}"


def test_every_vignette_is_recorded_under_each_of_its_rule_sets():
    assert len(ALL_CASES) == 2 * len(VIGNETTES) == 148
    recorded = {p.name for p in CASES_DIR.glob("*.json")}
    expected = {f"{c.values[0]['id']}.{c.values[1]}.json" for c in ALL_CASES}
    assert recorded == expected


def test_normalisation_keeps_what_differs_and_hides_only_ids_and_hashes():
    lines = _text_normalised(
        "Assessment #41  saved\n\n  /assessments/41/ at 41 mm \n" + "ab" * 32
    )
    assert lines == [
        "Assessment #<id> saved",
        "/assessments/<id>/ at 41 mm",
        "<hash>",
    ]
    body = _json_normalised({"id": 7, "result": {"lvesd": 7}}, {"id": "assessment"})
    assert body == {"id": "<assessment>", "result": {"lvesd": 7}}
