"""Shim: what cli.py imports from here now lives in records.py; the merger removes this module."""

from ..records import dumps, error_record, finite_or_text, result_record

__all__ = ["dumps", "error_record", "finite_or_text", "result_record"]
