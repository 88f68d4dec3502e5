"""Where each rule row was verified, and what is still unverified. Pure: rule-set
documents (the data files, or a version's rows as ``loaders.document_from_version``
gives them) in, counts and a markdown table out.

Shown to clinicians on the About page instead of test-case pass counts (a passing test
case says the engine does what the rows say, not that the rows say what the guideline
says), and written into ``docs/guideline.md`` by ``manage.py guideline_rows_table``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .loaders import DATA_DIR, SHIPPED_RULE_SETS, document_canonical, document_read

TAGS = ("V", "S", "M", "J")
TAG_WORDS = {
    "V": "verified against the guideline text",
    "S": "secondary source only",
    "M": "from memory",
    "J": "design judgement",
}
UNVERIFIED = {
    "V": "",
    "S": "class, level and wording against the guideline text (read in a secondary "
    "source only)",
    "M": "the whole row against the guideline text (written from memory)",
    "J": "clinical sign-off of a design judgement (no guideline statement)",
}
# A ``verified_from`` that starts so says why the row could not be read against a text
# (no reproduction found): it names no text, so the row is not counted as naming one.
NOT_READ = "Not read:"
ROWS_BEGIN = "<!-- rows:begin -->"
ROWS_END = "<!-- rows:end -->"
TABLES = ("severity", "stage", "rule")


@dataclass(frozen=True)
class RowProvenance:
    """One rule row's provenance, as the table and the About page show it."""

    rule_set: str
    table: str
    key: str
    code: str  # what the row concludes: a recommendation code, a band, stage C2
    cor: str
    loe: str
    evidence: str
    section: str
    url: str
    verified_from: str

    @property
    def names_its_text(self) -> bool:
        """The row names a text or reproduction it was read against."""
        return bool(self.verified_from) and not self.verified_from.startswith(NOT_READ)

    @property
    def still_unverified(self) -> str:
        gaps = [UNVERIFIED.get(self.evidence, "evidence tag missing")]
        if self.url and not self.url.startswith("https://doi.org/"):
            gaps.append("the URL is not the guideline's DOI")
        if (
            self.evidence == "V"
            and not self.names_its_text
            and self.url.startswith("https://doi.org/")
        ):
            gaps.append("the text it was read against is not named")
        return "; ".join(g for g in gaps if g)


def _conclusion(table: str, row: dict[str, Any]) -> str:
    if table == "rule":
        return str(row.get("code", ""))
    if table == "stage":
        return "stage C2"
    if row.get("role") == "band":
        return f"band {str(row.get('band', '')).replace('_', '-')}"
    return str(row.get("role", "")).replace("_", " ")


def document_rows(doc: dict[str, Any], rule_set: str = "") -> list[RowProvenance]:
    """Every row of a rule-set document with its provenance."""
    canonical = document_canonical(doc)
    name = rule_set or canonical["ruleset"]["code"]
    return [
        RowProvenance(
            rule_set=name,
            table=table,
            key=row["key"],
            code=_conclusion(table, row),
            cor=str(row.get("class") or ""),
            loe=str(row.get("level") or ""),
            evidence=row.get("evidence", ""),
            section=str(row.get("section", "")),
            url=row.get("url", ""),
            verified_from=row.get("verified_from", ""),
        )
        for table in TABLES
        for row in canonical[table]
    ]


def verification_counts(rows: list[RowProvenance]) -> dict[str, Any]:
    """Rows by evidence tag, how many name what they were verified from, and the rows
    still unverified ([S]/[M])."""
    return {
        "total": len(rows),
        "by_tag": {tag: sum(1 for r in rows if r.evidence == tag) for tag in TAGS},
        "verified_from": sum(1 for r in rows if r.names_its_text),
        "unverified": [r for r in rows if r.evidence in ("S", "M")],
    }


def shipped_rows(data_dir: Path = DATA_DIR) -> list[RowProvenance]:
    """The rows of the shipped data files, each file once: the shared severity and
    stage tables (included by both rule sets) under their own file's name."""
    rows: list[RowProvenance] = []
    seen_shared: set[tuple[str, str]] = set()
    for code in SHIPPED_RULE_SETS:
        raw = _raw_tables(data_dir / f"{code}.toml")
        doc = document_read(code, data_dir)
        own = {(t, r["key"]) for t in TABLES for r in raw.get(t, [])}
        for row in document_rows(doc):
            if (row.table, row.key) in own:
                rows.append(row)
                continue
            if (row.table, row.key) in seen_shared:
                continue
            seen_shared.add((row.table, row.key))
            shared = _shared_file(data_dir, code, row.table, row.key)
            rows.append(replace(row, rule_set=f"shared ({shared})"))
    return rows


def _raw_tables(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _shared_file(data_dir: Path, code: str, table: str, key: str) -> str:
    for name in _raw_tables(data_dir / f"{code}.toml").get("include", []):
        if any(
            r.get("key") == key for r in _raw_tables(data_dir / name).get(table, [])
        ):
            return name
    return "included file"


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


def rows_markdown(rows: list[RowProvenance]) -> str:
    """The markdown table of every row, with a count line per rule set."""
    lines = []
    groups: dict[str, list[RowProvenance]] = {}
    for row in rows:
        groups.setdefault(row.rule_set, []).append(row)
    for name, group in groups.items():
        counts = verification_counts(group)
        tags = ", ".join(f"{counts['by_tag'][t]} [{t}]" for t in TAGS)
        lines.append(
            f"- **{name}**: {counts['total']} rows: {tags}; "
            f"{counts['verified_from']} name what they were verified from."
        )
    lines += [
        "",
        "| rule set | key | code | class | level | tag | section | verified from "
        "| still unverified |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = (
            r.rule_set,
            f"`{r.key}`",
            r.code,
            r.cor,
            r.loe,
            r.evidence,
            r.section,
            r.verified_from,
            r.still_unverified,
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def document_with_rows_table(text: str, table: str) -> str:
    """``text`` (docs/guideline.md) with the table between the row markers."""
    if ROWS_BEGIN not in text or ROWS_END not in text:
        raise ValueError(f"markers {ROWS_BEGIN} and {ROWS_END} not found")
    head, rest = text.split(ROWS_BEGIN, 1)
    _, tail = rest.split(ROWS_END, 1)
    note = (
        "<!-- generated by `manage.py guideline_rows_table` from guidelines/data; "
        "do not edit by hand -->"
    )
    return f"{head}{ROWS_BEGIN}\n{note}\n\n{table}\n\n{ROWS_END}{tail}"
