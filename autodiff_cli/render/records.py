"""Shim: what streaming.py imports from here now lives in records, records_csv and render.batch_table.

The merger removes this module once streaming's successor imports those directly.
"""

from ..records import jsonl_line
from ..records_csv import batch_csv_header, batch_csv_line
from .batch_table import BatchTable

__all__ = ["BatchTable", "batch_csv_header", "batch_csv_line", "jsonl_line"]
