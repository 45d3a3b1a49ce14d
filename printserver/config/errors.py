"""pydantic's validation errors told in the words of the configuration file: one line, the
dotted key of each problem, TOML's terms rather than Python's."""

from __future__ import annotations

import json

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_PLAIN: dict[str, str] = {
    "extra_forbidden": "unknown key",
    "missing": "is required",
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be below {lt}",
    "greater_than": "must be above {gt}",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} character(s)",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_pattern_mismatch": "has characters that are not allowed here",
    "string_type": "must be text in quotes",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "literal_error": "must be {expected}",
    "tuple_type": 'must be a list in brackets, e.g. ["A", "B"]',
    "list_type": 'must be a list in brackets, e.g. ["A", "B"]',
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "path_type": "must be a file or directory name in quotes",
    "datetime_type": "must be a date and time, e.g. 2026-11-22T19:40:00",
    "datetime_parsing": "must be a date and time, e.g. 2026-11-22T19:40:00",
}
"""pydantic's error types in the words of the configuration file (TOML's, not Python's)."""
MAX_REPORTED = 10


def _plain(error: ErrorDetails) -> str:
    """One problem: the dotted key, what is wrong in the file's terms, and what was given."""
    where = ".".join(str(part) for part in error["loc"] if "[" not in str(part))
    template = _PLAIN.get(error["type"])
    ctx = {key: str(value).replace("'", '"') for key, value in error.get("ctx", {}).items()}
    message = template.format(**ctx) if template else error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if template and error["type"] not in ("missing", "extra_forbidden") and _short(given):
        message += f" (not {json.dumps(given)})"
    return f"{where or '(top level)'}: {message}"


def _short(value: object) -> bool:
    """A value small and plain enough to quote back in the message."""
    return isinstance(value, str | int | float | bool) and len(repr(value)) <= 40


def describe(error: ValidationError) -> str:
    """Every problem of a file on one line, a key once (a union reports a key per member)."""
    problems: dict[str, str] = {}
    for detail in error.errors():
        line = _plain(detail)
        problems.setdefault(line.partition(": ")[0], line)
    shown = list(problems.values())[:MAX_REPORTED]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
