import codecs
import json
import re
import sys
from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from guidelines import engine
from guidelines.services import (
    GuidelineError,
    active_rule_set,
    default_rule_set_code,
    guideline_evaluate,
    guideline_evaluate_from_files,
)
from guidelines.validation import InputError, input_parse

# --jsonl writes this many result lines per write to stdout: ~0.5 MB (a result is ~15
# kB), few writes with the lines still in the processor's cache (500 lines, 7.5 MB,
# cost ~10 µs more a result).
JSONL_FLUSH_LINES = 32
# orjson writes a float under 1e-4 as 0.0000... or with an exponent of no leading zero
# (7e-8 where json.dumps writes 7e-08); every other value as json.dumps does. Two
# searches, each for a literal, are fast; one pattern with both is not.
ORJSON_SMALL_FLOAT_POSITIONAL = b"0.0000"
ORJSON_SMALL_FLOAT_EXPONENT = re.compile(rb"e-(?<=[0-9]e-)")


class Command(BaseCommand):
    help = (
        "Evaluate one assessment input (a JSON object) or several (a JSON array) and "
        "print the result(s) as JSON on stdout. Exit code 2 on bad input. With --jsonl, "
        "read a JSON array or JSON Lines (one input object per line) and print one "
        "compact JSON result per line, in input order; on a bad input the output stops "
        "before it and the command exits 2 naming its position and field."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            nargs="?",
            default="-",
            help="JSON file with one input object or an array of them; '-' for stdin",
        )
        parser.add_argument(
            "--guideline",
            help="Rule set code (acc_aha_2020, esc_eacts_2025) for inputs without one",
        )
        parser.add_argument(
            "--jsonl",
            action="store_true",
            help="Input: a JSON array or JSON Lines; output: one compact JSON result "
            "per line. The active version of each rule set is read once per run.",
        )

    def handle(self, *args, **options):
        if options["jsonl"]:
            return self._handle_jsonl(options)
        source = options["file"]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text()
            payload = json.loads(text)
        except (OSError, ValueError, RecursionError) as exc:
            # ValueError: bad JSON, or an integer of more than 4300 digits;
            # RecursionError: nesting deeper than the parser goes.
            self._fail(f"cannot read JSON input: {type(exc).__name__}: {exc}"[:500])
        inputs = payload if isinstance(payload, list) else [payload]
        results = []
        evaluate = guideline_evaluate
        for index, data in enumerate(inputs):
            prefix = f"[{index}] " if isinstance(payload, list) else ""
            try:
                try:
                    outcome = evaluate(data=data, guideline=options["guideline"])
                except (DatabaseError, GuidelineError) as exc:
                    if evaluate is guideline_evaluate_from_files:
                        raise
                    # Database not initialised (no migrate / load_guidelines yet): use
                    # the rule sets shipped in the repository's data files.
                    self.stderr.write(f"note: {exc}; using the shipped rule-set files")
                    evaluate = guideline_evaluate_from_files
                    outcome = evaluate(data=data, guideline=options["guideline"])
            except InputError as exc:
                self._fail(
                    "\n".join(f"{prefix}{e.field}: {e.message}" for e in exc.errors)
                )
            except GuidelineError as exc:
                raise CommandError(str(exc)) from exc
            results.append(outcome.result)
        output = results if isinstance(payload, list) else results[0]
        _ResultOutput(self.stdout).write(indented_json(output) + b"\n")

    # --- --jsonl ---------------------------------------------------------------------

    def _handle_jsonl(self, options):
        source = options["file"]
        try:
            stream = sys.stdin if source == "-" else Path(source).open()  # noqa: SIM115
        except OSError as exc:
            self._fail(f"cannot read JSON input: {exc}")
        evaluator = _BatchEvaluator(options["guideline"], self.stderr)
        output = _ResultOutput(self.stdout)
        lines = []
        with stream:
            for position, data in self._jsonl_inputs(stream):
                try:
                    result = evaluator.evaluate(data)
                except InputError as exc:
                    output.write(b"".join(lines))
                    self._fail(
                        "\n".join(
                            f"{position}{e.field}: {e.message}" for e in exc.errors
                        )
                    )
                except GuidelineError as exc:
                    output.write(b"".join(lines))
                    raise CommandError(str(exc)) from exc
                # Compact JSON, the values of json.dumps(separators=(",", ":"),
                # ensure_ascii=False) and its bytes but for floats under 1e-4.
                lines.append(orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE))
                if len(lines) >= JSONL_FLUSH_LINES:
                    output.write(b"".join(lines))
                    lines.clear()
        output.write(b"".join(lines))

    def _jsonl_inputs(self, stream):
        """(position prefix, input) pairs: ``[i] `` for an array, ``line n: `` for
        JSON Lines (blank lines skipped)."""
        first, skipped_lines = stream.read(1), 0
        while first and first.isspace():
            skipped_lines += first == "\n"
            first = stream.read(1)
        if first == "[":
            try:
                payload = json.loads(first + stream.read())
            except json.JSONDecodeError as exc:
                self._fail(f"cannot read JSON input: {exc}")
            for index, data in enumerate(payload):
                yield f"[{index}] ", data
            return
        for number, line in enumerate(_prepend(first, stream), start=1 + skipped_lines):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                self._fail(f"line {number}: cannot read JSON input: {exc}")
            yield f"line {number}: ", data

    def _fail(self, message: str):
        self.stderr.write(f"invalid input: {message}")
        sys.exit(2)


def indented_json(value) -> bytes:
    """``json.dumps(value, indent=2, ensure_ascii=False)`` in UTF-8, the same bytes,
    written by orjson (the standard library indents in pure Python, ~0.4 ms a result);
    by json.dumps itself when orjson's output may hold a float under 1e-4 (which it
    writes otherwise) or when orjson refuses the value."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        data = None  # an integer beyond 64 bits, a key that is not a string
    if (
        data is None
        or ORJSON_SMALL_FLOAT_POSITIONAL in data
        or ORJSON_SMALL_FLOAT_EXPONENT.search(data)
    ):
        return json.dumps(value, indent=2, ensure_ascii=False).encode()
    return data


class _ResultOutput:
    """The command's stdout for results as UTF-8 bytes: written to the binary buffer
    under a UTF-8 stdout as they are (a result is ~15 kB: no decode and re-encode),
    decoded into any other stream (a StringIO, another encoding)."""

    def __init__(self, stdout):
        self.stdout = stdout  # Django's OutputWrapper: attributes of the stream
        encoding = getattr(stdout, "encoding", None)
        utf8 = bool(encoding) and codecs.lookup(encoding).name == "utf-8"
        self.binary = getattr(stdout, "buffer", None) if utf8 else None

    def write(self, data: bytes) -> None:
        if self.binary is None:
            self.stdout.write(data.decode(), ending="")
            return
        self.stdout.flush()  # anything written as text goes first
        self.binary.write(data)
        self.binary.flush()


def _prepend(first: str, stream):
    """The stream's lines, ``first`` (already read) put back in front of the first."""
    if not first:
        return
    head = stream.readline()
    yield first + head
    yield from stream


class _BatchEvaluator:
    """Validate and evaluate many inputs with the active version of each rule set read
    once (the same result as ``guideline_evaluate``, without a cache lookup per input);
    falls back to the shipped rule-set files when the database is not initialised."""

    def __init__(self, guideline: str | None, stderr):
        self.guideline = guideline
        self.stderr = stderr
        self.rule_sets = {}
        self.from_files = False

    def evaluate(self, data):
        if self.from_files:
            return guideline_evaluate_from_files(
                data=data, guideline=self.guideline
            ).result
        clean = input_parse(data)
        code = clean.get("guideline") or self.guideline
        rule_set = self.rule_sets.get(code)
        if rule_set is None:
            try:
                rule_set = active_rule_set(code or default_rule_set_code())
            except (DatabaseError, GuidelineError) as exc:
                self.stderr.write(f"note: {exc}; using the shipped rule-set files")
                self.from_files = True
                return self.evaluate(data)
            self.rule_sets[code] = rule_set
        return engine.evaluate(clean, rule_set)
