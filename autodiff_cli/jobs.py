"""One batch job, answered from Python exactly as ``autodiff batch --json`` answers it.

A record is the unit that travels: a Dask bag, a queue or a database row can
carry it, and ``read_record`` turns it back into a Result or the AutodiffError
it reports. ``answer`` goes through the very functions the batch command uses
(``batch.parse_job`` and ``batch.run_job``), so a record made here and a line
printed by the CLI are the same bytes once written with ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .batch import Job, parse_job, run_job
from .errors import INPUT, AutodiffError
from .records import read_record

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
    except (TypeError, ValueError, RecursionError) as err:
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
