"""The API's JSON parser: DRF's, with limits, so no body can cost more than a normal one
or end in a server error.

- at most ``MR_CDS_API_MAX_BODY_BYTES`` bytes (default 1 MiB), else 413, read no further;
- nested at most ``MAX_DEPTH`` levels (an assessment input has 4), else 400;
- valid UTF-8 text whose strings hold no lone surrogate (``"\\ud800"`` can be neither
  stored nor answered), and no NaN or Infinity literal, else 400.
Every refusal is in the API's error shape (``errors.api_exception_handler``).
"""

import codecs
import json

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def max_body_bytes() -> int:
    return getattr(settings, "MR_CDS_API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = max_body_bytes()
        too_large = PayloadTooLarge(
            f"the request body is larger than the limit of {limit} bytes"
        )
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise too_large
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise exceptions.ParseError(
                f"the body is not valid {encoding}: {exc}"
            ) from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON nested more than {MAX_DEPTH} levels deep"
            ) from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}"[:300]) from None
        problem = _structure_problem(data)
        if problem:
            raise exceptions.ParseError(problem)
        return data


def _structure_problem(data) -> str:
    """Why the parsed body is refused ("" when it is fine); iterative, so any shape
    the JSON parser produced is walked without recursion."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"JSON nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            for key, item in value.items():
                if not _encodable(key):
                    return "a JSON key holds a lone surrogate (not valid Unicode text)"
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not _encodable(value):
            return "a JSON string holds a lone surrogate (not valid Unicode text)"
    return ""


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
