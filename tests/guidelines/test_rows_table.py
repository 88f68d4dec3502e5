"""The table of every rule row in docs/guideline.md is generated from the data files
and kept in step with them. When this fails after a data change, run
``manage.py guideline_rows_table`` and commit docs/guideline.md."""

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


def test_a_row_read_only_in_a_secondary_source_says_what_is_unverified():
    doc = {
        "ruleset": {"code": "x", "url": "https://doi.org/10.1/x"},
        "rule": [
            {"key": "a", "code": "surgery_mv", "class": "1", "level": "B-NR",
             "evidence": "S", "section": "7.3", "when": ["severity", "==", "severe"],
             "verified_from": "pocket guide"},
            {"key": "b", "code": "gdmt", "evidence": "V", "section": "9.1.3",
             "when": ["severity", "==", "severe"], "url": "https://example.org/page"},
        ],
    }  # fmt: skip
    a, b = document_rows(doc)
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
