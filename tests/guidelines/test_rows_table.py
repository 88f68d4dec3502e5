"""The table of every rule row in docs/guideline.md is generated from the data files
and kept in step with them. When this fails after a data change, run
``manage.py guideline_rows_table`` and commit docs/guideline.md."""

import re

import pytest
from django.core.management import CommandError, call_command

from guidelines.loaders import SHIPPED_RULE_SETS, document_read
from guidelines.provenance import (
    ROWS_BEGIN,
    ROWS_END,
    document_rows,
    shipped_rows,
    verification_counts,
)


def test_the_committed_row_table_is_in_step_with_the_data_files():
    call_command("guideline_rows_table", "--check")  # CommandError names the fix


def test_every_row_of_every_data_file_is_in_the_table_once():
    rows = shipped_rows()
    keys = [(r.rule_set, r.table, r.key) for r in rows]
    for code in SHIPPED_RULE_SETS:
        for row in document_rows(document_read(code)):
            assert (code, row.table, row.key) in keys or any(
                k[1:] == (row.table, row.key) and k[0].startswith("shared")
                for k in keys
            ), row.key
    assert len(keys) == len(set(keys))


def _two_rows(a_evidence: str, a_from: str, **b_fields: str):
    """A surgery row ``a`` and a [V] GDMT row ``b`` of a one-guideline document."""
    doc = {
        "ruleset": {"code": "x", "url": "https://doi.org/10.1/x"},
        "rule": [
            {
                "key": "a",
                "code": "surgery_mv",
                "class": "1",
                "level": "B-NR",
                "evidence": a_evidence,
                "section": "7.3",
                "when": ["severity", "==", "severe"],
                "verified_from": a_from,
            },
            {
                "key": "b",
                "code": "gdmt",
                "evidence": "V",
                "section": "9.1.3",
                "when": ["severity", "==", "severe"],
                **b_fields,
            },
        ],
    }
    return document_rows(doc)


def test_a_row_read_only_in_a_secondary_source_says_what_is_unverified():
    a, b = _two_rows("S", "pocket guide", url="https://example.org/page")
    assert "class, level and wording" in a.still_unverified
    assert "DOI" not in a.still_unverified  # inherits the guideline's DOI
    assert b.still_unverified == "the URL is not the guideline's DOI"
    counts = verification_counts([a, b])
    assert counts["by_tag"] == {"V": 1, "S": 1, "M": 0, "J": 0}
    assert counts["verified_from"] == 1
    assert counts["unverified"] == [a]


def test_the_command_writes_between_the_markers_and_check_refuses_a_stale_table(
    tmp_path,
):
    doc = tmp_path / "guideline.md"
    doc.write_text(f"# Title\n\n{ROWS_BEGIN}\nSTALE TABLE\n{ROWS_END}\n\nafter\n")
    with pytest.raises(CommandError, match="run manage.py guideline_rows_table"):
        call_command("guideline_rows_table", "--check", doc=str(doc))
    call_command("guideline_rows_table", doc=str(doc))
    text = doc.read_text()
    assert "STALE TABLE" not in text
    assert text.startswith("# Title")
    assert text.endswith("after\n")
    assert "| `c2_lvesd` | stage C2 |" in text
    call_command("guideline_rows_table", "--check", doc=str(doc))


def test_a_row_that_says_why_it_was_not_read_does_not_count_as_naming_its_text():
    a, b = _two_rows(
        "M",
        "Not read: no reproduction of the text was found",
        verified_from="Not read: the extraction stops before §9",
    )
    assert verification_counts([a, b])["verified_from"] == 0
    assert "the text it was read against is not named" in b.still_unverified
    assert "Not read: no reproduction" in a.verified_from  # the reason stays shown


# A [V] row that quotes the statement it was read against ('…', class level) carries
# that class and level: a class or level moved in the data file without re-reading the
# text fails here. Roman (2014/2017, ESC) and arabic (2020) classes are the same class.
QUOTED = re.compile(
    r"'[^']+',\s*(I{1,3}|IIa|IIb|1|2a|2b|3)(?::\s*(?:Harm|No Benefit))?"
    r"\s+([ABC](?:-(?:R|NR|LD|EO))?)\)"
)
SAME_CLASS = {"I": "1", "IIa": "2a", "IIb": "2b", "III": "3"}


def _cls(text: str) -> str:
    head = str(text).split(":")[0].strip()
    return SAME_CLASS.get(head, head)


def test_every_verified_row_quoting_its_statement_carries_the_quoted_class_and_level():
    checked = 0
    for row in shipped_rows():
        quotes = QUOTED.findall(row.verified_from)
        if row.evidence != "V" or len(quotes) != 1:
            continue
        cls, level = quotes[0]
        assert (_cls(row.cor), row.loe) == (_cls(cls), level), row.key
        checked += 1
    # both rule sets quote their verified statements (ACC/AHA 2014/2017 and ESC rows)
    assert checked >= 10


def test_acc_aha_rows_read_only_in_an_earlier_guideline_show_that_guideline():
    """SPEC 0.14 l: a verified 2014/2017 statement is shown under its own guideline,
    year and DOI, never under the 2020 source."""
    earlier = {
        "AHA/ACC 2014": "10.1161/CIR.0000000000000031",
        "AHA/ACC 2017": "10.1161/CIR.0000000000000503",
    }
    doc = document_read("acc_aha_2020")
    seen = 0
    for row in doc["rule"]:
        if row.get("guideline") in earlier:
            assert row["url"].endswith(earlier[row["guideline"]]), row["key"]
            assert row["section"].startswith(row["guideline"][-4:]), row["key"]
            seen += 1
    assert seen >= 5
