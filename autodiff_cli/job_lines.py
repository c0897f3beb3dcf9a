"""One line of batch input read as a job: a JSON object or shell words, and the one rule for reading JSON.

Every way a job arrives (``autodiff batch``, a --jobs worker, a Dask task,
``autodiff_cli.answer``) reads its line here, so a line means the same job
wherever it is read; batch.py runs what this reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import shellwords
from .bindings import check_bindings, parse_bindings
from .errors import INPUT, AutodiffError
from .lines import Overlong

__all__ = ["MAX_ID_DEPTH", "NO_ID", "Job", "json_bindings", "load_json", "parse_job"]

MAX_ID_DEPTH = 64
"""An id is a label: one nested deeper than this is refused rather than carried between processes."""

NO_ID: Any = object()
"""The id of a job whose line gave none (None is an id a JSON line may give)."""


@dataclass(frozen=True)
class Job:
    """One line of batch input: a program and its bindings, or why the line cannot be run."""

    line: int
    expr: str | None = None
    bindings: Mapping[str, float] = field(default_factory=dict)
    id: Any = NO_ID
    error: AutodiffError | None = None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number in JSON (RFC 8259)")


def _json_text(value: object) -> str:
    return json.dumps(value)[:40]


def json_bindings(members: object, what: str) -> dict[str, float]:
    """A JSON object of name -> number as bindings, checked like NAME=VALUE arguments."""
    if not isinstance(members, dict):
        raise AutodiffError(INPUT, f"{what} must be an object of name: number")
    return check_bindings(members, f"{what} has a bad member", _json_text)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if a member is named twice (json.loads would keep the last silently)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise AutodiffError(INPUT, f"the member {json.dumps(key)[:40]} appears twice in one object: which one is meant?")
            seen.add(key)
    return obj


# One decoder for every line: json.loads with options builds a new one per call.
_DECODE = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_members).decode


def load_json(text: str) -> Any:
    """Parse one line of RFC 8259 JSON, or raise AutodiffError(kind='input')."""
    try:
        obj = _DECODE(text)
    except json.JSONDecodeError as err:
        raise AutodiffError(INPUT, f"not valid JSON at column {err.colno}: {err.msg}") from None
    except ValueError as err:  # NaN, Infinity, or an integer too long to read
        why = "a number has too many digits" if "digits" in str(err) else str(err)
        raise AutodiffError(INPUT, f"not valid JSON: {why}") from None
    except RecursionError:
        raise AutodiffError(INPUT, "not valid JSON: nested too deeply") from None
    if "\\u" in text:
        # JSON may escape half a surrogate pair, which no UTF-8 output can hold.
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise AutodiffError(INPUT, "the line holds an unpaired surrogate escape (\\ud800-\\udfff)") from None
    return obj


def _json_job(line: int, text: str) -> Job:
    try:
        obj = load_json(text)
    except AutodiffError as err:
        return Job(line, error=err)
    if not isinstance(obj, dict):
        return Job(line, error=AutodiffError(INPUT, 'a JSON job must be an object: {"expr": "...", "vars": {...}}'))
    job_id = obj.get("id", NO_ID)
    expr = obj.get("expr")
    why_not = None if job_id is NO_ID else _unechoable(job_id)
    if why_not:
        return Job(line, expr if isinstance(expr, str) else None, error=AutodiffError(INPUT, f'the "id" {why_not}'))
    if not isinstance(expr, str):
        why = 'no "expr" member' if expr is None else '"expr" must be a string'
        return Job(line, id=job_id, error=AutodiffError(INPUT, f"{why} (the program to run)"))
    try:
        bindings = json_bindings(obj.get("vars", {}), '"vars"')
    except AutodiffError as err:
        return Job(line, expr, id=job_id, error=err)
    return Job(line, expr, bindings, job_id)


def _unechoable(value: Any) -> str | None:
    """Why ``value`` cannot be echoed back as it was read, or None if it can."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "is a number too large for a float64 (it would read back as infinity)"
        if isinstance(item, (list, dict)):
            if depth > MAX_ID_DEPTH:
                return f"is nested more than {MAX_ID_DEPTH} deep"
            stack.extend((x, depth + 1) for x in (item.values() if isinstance(item, dict) else item))
    return None


def _shell_job(line: int, text: str) -> Job:
    try:
        args = shellwords.split(text)
    except ValueError as err:  # "No closing quotation", "No escaped character"
        return Job(line, error=AutodiffError(INPUT, f"cannot split the line as a shell would: {err}"))
    if not args:
        return Job(line, error=AutodiffError(INPUT, "no program on the line"))
    expr, *rest = args
    try:
        return Job(line, expr, parse_bindings(rest))
    except AutodiffError as err:
        return Job(line, expr, error=err)


def parse_job(line: int, raw: bytes | Overlong) -> Job | None:
    """The job on one line of input, or None for a blank or comment line."""
    if isinstance(raw, Overlong):
        return Job(line, error=raw.error())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return Job(line, error=AutodiffError(INPUT, f"the line is not valid UTF-8 (byte {err.start + 1})"))
    text = text.strip()
    if line == 1:
        text = text.removeprefix("\ufeff").lstrip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        return _json_job(line, text)
    return _shell_job(line, text)
