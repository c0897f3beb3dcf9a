"""Helpers for tests that run a real Dask cluster."""

from __future__ import annotations

from typing import Any


def ready(client: Any) -> Any:
    """The module's cluster with both workers: after a test that killed some, a nanny may have given up."""
    try:
        client.wait_for_workers(2, timeout=30)
    except TimeoutError:
        client.cluster.scale(0)
        client.cluster.scale(2)
        client.wait_for_workers(2, timeout=90)
    return client
