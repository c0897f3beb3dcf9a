"""One batch job, answered from Python exactly as ``autodiff batch --json`` answers it.

A record is the unit that travels: a Dask bag, a queue or a database row can
carry it, and ``read_record`` turns it back into a Result or the AutodiffError
it reports. ``answer`` goes through the very functions the batch command uses
(``job_lines.parse_job`` and ``batch.run_job``), so a record made here and a line
printed by the CLI are the same bytes once written with ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .batch import run_job
from .bindings import as_number
from .errors import INPUT, KINDS, AutodiffError
from .job_lines import Job, load_json, parse_job
from .program import Result

__all__ = ["answer", "read_record"]


def _as_json(value: Any) -> Any:
    """Mappings that are not dicts (MappingProxyType, frozendict) are JSON objects too."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _job_line(job: Mapping[str, Any] | str) -> bytes:
    """The line of batch input that holds ``job``."""
    if isinstance(job, str):
        text = job.removesuffix("\n").removesuffix("\r")
        if "\n" in text:
            raise AutodiffError(INPUT, "a job is one line of text, and this one holds a line break")
        # A lone surrogate becomes bytes that are not UTF-8, as it would be in a file.
        return text.encode("utf-8", "surrogatepass")
    if not isinstance(job, Mapping):
        raise AutodiffError(INPUT, f"a job is a line of text or a mapping, not {type(job).__name__}")
    try:
        text = json.dumps(dict(job), ensure_ascii=False, default=_as_json)
    except ValueError as err:
        if "digits" in str(err):  # an int past Python's 4,300 digits: what batch says of such a line
            raise AutodiffError(INPUT, "not valid JSON: a number has too many digits") from None
        raise AutodiffError(INPUT, f"the job cannot be written as JSON: {err}") from None
    except (TypeError, RecursionError) as err:
        raise AutodiffError(INPUT, f"the job cannot be written as JSON: {err}") from None
    return text.encode("utf-8", "surrogatepass")


def answer(job: Mapping[str, Any] | str, line: int | None = None, *, allow_nonfinite: bool = False) -> dict[str, Any]:
    """The record ``autodiff batch --json`` prints for ``job``, as a dict; never raises for a bad job.

    ``job`` is a line of batch input (JSON or shell-quoted arguments) or a
    mapping like the JSON form, ``{"expr": ..., "vars": {...}, "id": ...}``,
    which is answered as its JSON text would be. ``line`` is the number the
    record carries; by default 1, the answer of a batch whose whole input is
    this job. A blank or comment line, which batch skips, is an input error
    here, since every call must answer something.
    """
    number = 1 if line is None else line
    if type(number) is not int or number < 1:
        raise ValueError(f"line must be a positive int, not {line!r}")
    try:
        parsed = parse_job(number, _job_line(job))
    except AutodiffError as err:
        parsed = Job(number, error=err)
    if parsed is None:
        parsed = Job(number, error=AutodiffError(INPUT, "no program on the line (a blank line or a # comment)"))
    return run_job(parsed, strict=not allow_nonfinite)


# --- reading records back ------------------------------------------------------------


def _read_number(value: object, what: str) -> float:
    """A number of a record, the inverse of ``records.finite_or_text``: "inf", "-inf" and "nan" are floats.

    Anything else is read by the rule for numbers (``bindings.as_number``): a
    finite float64, so an int too large for one, or a JSON 1e400 (inf), is an
    input error, as it is in a batch job's ``vars``.
    """
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    try:
        return as_number(value, what)
    except AutodiffError as err:
        raise AutodiffError(INPUT, f"not an autodiff record: {err.message}") from None


def _error(record: Mapping[str, Any], error: object) -> AutodiffError:
    if not isinstance(error, Mapping) or error.get("kind") not in KINDS or not isinstance(error.get("message"), str):
        raise AutodiffError(INPUT, 'not an autodiff record: "error" needs a known "kind" and a "message"')
    line, column = error.get("line"), error.get("column")
    if line is not None and not (type(line) is int and type(column) is int):
        raise AutodiffError(INPUT, 'not an autodiff record: the error\'s "line" and "column" must be integers')
    source = record.get("expr") if isinstance(record.get("expr"), str) and line is not None else None
    return AutodiffError(error["kind"], error["message"], line, column, source)


def read_record(record: Mapping[str, Any] | str) -> Result | AutodiffError:
    """What a record (a dict, or one line of ``autodiff batch --json``) says: a Result, or the error.

    The inverse of ``answer``: the error comes back with its kind, message and
    position (and the program as its source, so ``caret()`` works). A text or
    mapping that is not a record raises AutodiffError(kind="input"). A line is
    read by batch's own rule (``job_lines.load_json``: RFC 8259, no NaN, no member
    named twice), never by a looser one.
    """
    if isinstance(record, str):
        try:
            record = load_json(record)
        except AutodiffError as err:
            raise AutodiffError(INPUT, f"not an autodiff record: {err.message}") from None
    if not isinstance(record, Mapping):
        raise AutodiffError(INPUT, "not an autodiff record: not a JSON object")
    if "error" in record:
        return _error(record, record["error"])
    gradients = record.get("gradients")
    if "value" not in record or not isinstance(gradients, Mapping):
        raise AutodiffError(INPUT, 'not an autodiff record: it has neither "error" nor "value" and "gradients"')
    value = _read_number(record["value"], '"value"')
    grads = {str(name): _read_number(g, f"the gradient for {str(name)[:40]}") for name, g in gradients.items()}
    return Result(value, grads)
