"""Reaching a Dask cluster as Dask's own tools do, and checking that all of it can run this autodiff.

The address comes as Dask's tools take it: ``--scheduler ADDRESS`` (any
protocol Dask has installed, IPv6 in brackets), ``--scheduler dask`` for Dask's
configured ``scheduler-address`` (``DASK_SCHEDULER_ADDRESS`` or its config
files), or a scheduler file as ``dask scheduler --scheduler-file`` writes it.
Timeouts and TLS settings are Dask's configuration (``distributed.comm.*``).

Every worker and the scheduler are asked which autodiff they import, with
``Client.run``: it runs beside the tasks, so a cluster busy with another
client's work answers at once, and it sends ``pkgutil.resolve_name`` with a constant string,
which any Python unpickles: a machine without autodiff says so and stays up
(a function of ours would fail to unpickle there, and Dask would stop it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pkgutil
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from . import __version__
from .errors import INPUT, AutodiffError
from .text import printable

__all__ = ["INSTALL_HINT", "connect", "local_workers", "missing", "scheduler_from_file"]

INSTALL_HINT = "--scheduler needs Dask: pip install 'autodiff-cli[dask]' (or: pip install 'dask[distributed]')"
CONFIGURED = "dask"  # --scheduler dask: Dask's own scheduler-address

# Our own LocalCluster's settings (its nannies carry them into the workers). Dask's statistical
# profiler samples every worker thread 100 times a second under the GIL the jobs hold, for a profile
# nobody reads (there is no dashboard): without it the scheduler's cost per job fell from 73 to 34 us
# (bench_distributed, local:1 against serial). Deaths a task may witness: see distributed.ALLOWED_FAILURES.
LOCAL_CONFIG = {
    "distributed.scheduler.allowed-failures": 1,
    "distributed.worker.profile.enabled": False,
}
WORKER_WAIT = 60.0  # seconds for a first worker to join the scheduler
CONNECT_TIMEOUT: str | None = None  # None: Dask's distributed.comm.timeouts.connect (30 s by default)
# What each worker and the scheduler are asked: which autodiff they import. The standard library's
# pkgutil.resolve_name imports the module and reads the name there, so nothing of ours has to unpickle
# on a machine that may not have it (and nothing is evaluated as Python).
PROBE = "autodiff_cli:__version__"
NAMED = 4  # machines named in a message, the rest counted

_LOCAL = re.compile(r"local(?::(\d+))?")
# PROTOCOL://HOST:PORT as Dask writes it: a name, an IPv4 address, or an IPv6 one in brackets, and a
# port. Dask's own parser also takes a host without a port or inproc://, then fails inside Client(),
# whose half-made object waits 20 s to close and prints a traceback: so they are refused here, first.
_ADDRESS = re.compile(r"([a-z][a-z0-9+.-]*://)?(\[[0-9a-f:.%]+\]|[^\s/:\[\]]+):\d{1,5}", re.IGNORECASE)

Tell = Callable[[str], None]


def nobody(message: str) -> None:
    """Tell nobody (--quiet, and tests)."""


def missing() -> str | None:
    """Why --scheduler cannot work here (how to install Dask), or None if it can."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


def local_workers(scheduler: str) -> tuple[int, int] | None:
    """(workers asked, workers started) for ``local[:N]`` (0 asked: every core), None for a scheduler's address.

    Workers are capped as --jobs caps them (``batch.worker_count``). Raises
    ValueError, saying what is expected, for anything that is neither.
    """
    match = _LOCAL.fullmatch(scheduler)
    if match:
        from .batch import worker_count

        asked = int(match.group(1) or 0)
        if match.group(1) is not None and asked < 1:
            raise ValueError("--scheduler local:N needs N >= 1 workers")
        return asked, worker_count(asked)
    if scheduler != CONFIGURED and (scheduler.startswith("local:") or not _ADDRESS.fullmatch(scheduler)):
        raise ValueError(f"--scheduler takes tcp://HOST:PORT, dask or local[:N], not {scheduler!r}")
    return None


def scheduler_from_file(path: str, timeout: float, tell: Tell = nobody) -> str:
    """The address in a scheduler file, waiting up to ``timeout`` s for it as ``dask worker --scheduler-file`` does."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            with open(path, encoding="utf-8") as stream:
                address = json.load(stream)["address"]
            if isinstance(address, str) and address:
                return address
            raise AutodiffError(INPUT, f"the scheduler file {path} names no address")
        except FileNotFoundError:
            why = "it does not exist"
        except (ValueError, KeyError, TypeError):  # being written, or not a scheduler file
            why = "it holds no scheduler address"
        except OSError as err:
            raise AutodiffError(INPUT, f"cannot read the scheduler file {path}: {err.strerror or err}") from None
        if time.monotonic() >= deadline:
            raise AutodiffError(INPUT, f"no Dask scheduler wrote {path} in {timeout:g} s ({why})")
        if not told:
            tell(f"autodiff: waiting for the Dask scheduler to write {path} (up to {timeout:g} s)")
            told = True
        time.sleep(0.1)


def configured_address() -> str:
    """Dask's configured scheduler-address (DASK_SCHEDULER_ADDRESS, the config files), for --scheduler dask."""
    from dask import config

    address = config.get("scheduler-address", None)
    if not address:
        raise AutodiffError(
            INPUT, "--scheduler dask uses Dask's scheduler-address, and none is set (DASK_SCHEDULER_ADDRESS or Dask's config)"
        )
    return str(address)


def connect_timeout() -> float:
    """Seconds to reach a scheduler: ours if set, else Dask's distributed.comm.timeouts.connect."""
    from dask import config
    from dask.utils import parse_timedelta

    return float(parse_timedelta(CONNECT_TIMEOUT or config.get("distributed.comm.timeouts.connect"), "s"))


def _check_protocol(address: str) -> None:
    """An address Dask can use here: an installed protocol, and TLS settings for tls://."""
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import get_backend

    try:
        protocol, _ = parse_address(address)
        get_backend(protocol)
    except (ValueError, TypeError) as err:
        raise AutodiffError(
            INPUT,
            f"cannot use the Dask scheduler address {address}: {err} (--scheduler takes tcp://HOST:PORT, dask or local[:N])",
        ) from None
    if protocol == "ucx":
        try:
            import distributed_ucxx  # type: ignore[import-not-found]  # noqa: F401
        except ImportError:
            raise AutodiffError(
                INPUT, f"{address}: the ucx protocol is not installed here (pip install distributed-ucxx)"
            ) from None
    if protocol in ("tls", "wss"):
        from distributed.security import Security

        security = Security()  # type: ignore[no-untyped-call]  # Dask's distributed.comm.tls settings
        if not (getattr(security, "tls_ca_file", None) and getattr(security, "tls_client_cert", None)):
            raise AutodiffError(
                INPUT,
                f"{address} needs Dask's TLS settings: distributed.comm.tls.ca-file, .client.cert and .client.key"
                " (DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT, ..._KEY)",
            )


@contextlib.contextmanager
def connect(
    scheduler: str, worker_wait: float | None = None, scheduler_file: str | None = None, tell: Tell = nobody
) -> Iterator[Any]:
    """A dask.distributed Client for ``scheduler``: an address, ``dask``, or ``local[:N]`` for a LocalCluster here.

    ``worker_wait``: seconds for a first worker (WORKER_WAIT by default).
    ``scheduler_file`` (then ``scheduler`` is ignored) names a file holding the
    address. ``tell`` hears what is being waited for, and what was reached.
    Raises AutodiffError(kind="input") when the scheduler cannot be reached, no
    worker joins it, or a worker or the scheduler does not run this version of
    autodiff: mistakes in the command or the cluster, found before any job is read.
    """
    from distributed import Client, LocalCluster

    workers = None
    if scheduler_file is None:
        try:
            local = local_workers(scheduler)
        except ValueError as err:
            raise AutodiffError(INPUT, str(err)) from None
        workers = None if local is None else local[1]
    timeout = connect_timeout()
    with contextlib.ExitStack() as stack:
        if workers is not None:
            from dask import config

            stack.enter_context(config.set(LOCAL_CONFIG))
            address: Any = stack.enter_context(
                LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=workers,
                    threads_per_worker=1,  # jobs hold the GIL: a process per core is what scales
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # No dashboard, but the scheduler's HTTP server still starts: on a free loopback port.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.CRITICAL,  # stderr is for the summary: answers say what failed
                )
            )
            scheduler = address.scheduler_address
        else:
            if scheduler_file is not None:
                scheduler = scheduler_from_file(scheduler_file, timeout, tell)
            elif scheduler == CONFIGURED:
                scheduler = configured_address()
            _check_protocol(scheduler)
            address = scheduler
            # Dask's own log lines (reconnecting, tracebacks of a lost scheduler) are not for this stderr:
            # what went wrong is said once, in our words.
            stack.enter_context(_quiet_dask_logs())
            tell(f"autodiff: connecting to the Dask scheduler at {printable(scheduler)} (up to {timeout:g} s)")
        try:
            # Answers come straight from our own workers (on this machine), not relayed by the scheduler,
            # which shares this process with the writing of records; a remote cluster keeps Dask's default.
            direct = workers is not None
            client = stack.enter_context(
                Client(address, timeout=timeout, set_as_default=False, direct_to_workers=direct)  # type: ignore[no-untyped-call]
            )
        except Exception as err:  # whatever Dask raises on the way in is a scheduler not reached
            raise AutodiffError(INPUT, f"cannot reach the Dask scheduler at {scheduler}: {one_line(err)}") from None
        _wait_for_workers(client, scheduler, WORKER_WAIT if worker_wait is None else worker_wait, tell)
        if workers is None:
            # Nor its loop's reports of tasks whose failure nobody awaited (a lost cluster's leftovers,
            # reported when they are collected, after this context has restored the loggers).
            with contextlib.suppress(AttributeError):
                client.loop.asyncio_loop.set_exception_handler(_unheard)
            _check_cluster(client, scheduler, tell)
        yield client


@contextlib.contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Dask's log records go nowhere meanwhile: Dask gives several of its loggers handlers of their own."""
    names = {"distributed", "tornado", "asyncio"}
    loggers = [logging.getLogger(name) for name in names]
    loggers += [
        logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.split(".")[0] in names and name not in names
    ]
    saved = [(logger, logger.handlers[:], logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.handlers[:] = [logging.NullHandler()]
        logger.propagate = False
    try:
        yield
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers[:], logger.propagate = handlers, propagate


def _unheard(loop: Any, context: dict[str, Any]) -> None:
    """An exception Dask's event loop would log: the batch reports the failure itself, in one line."""


def one_line(err: BaseException) -> str:
    """An exception as one short line: its type, and its message's first line."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text[:300]}" if text else type(err).__name__


def _wait_for_workers(client: Any, scheduler: str, worker_wait: float, tell: Tell) -> None:
    if client.nthreads():
        return
    tell(f"autodiff: waiting for a Dask worker to join {printable(scheduler)} (up to {worker_wait:g} s)")
    try:
        client.wait_for_workers(1, timeout=worker_wait)
    except TimeoutError:
        raise AutodiffError(INPUT, f"no Dask worker joined the scheduler at {scheduler} in {worker_wait:g} s") from None


def _check_cluster(client: Any, scheduler: str, tell: Tell) -> None:
    """Every worker and the scheduler import this autodiff, else name each one that does not.

    The scheduler unpickles the tasks, so it needs autodiff too. A worker that
    is busy with another client's tasks still answers (``Client.run`` runs
    beside them), so a busy cluster is only told, never mistaken for a broken one.
    """
    try:
        theirs: dict[str, Any] = client.run(pkgutil.resolve_name, PROBE, on_error="return")
    except Exception as err:  # a scheduler that cannot broadcast
        raise AutodiffError(INPUT, f"the Dask scheduler at {scheduler} cannot reach its workers: {one_line(err)}") from None
    try:
        theirs = {**theirs, f"the scheduler {scheduler}": client.run_on_scheduler(pkgutil.resolve_name, PROBE)}
    except Exception as err:  # the scheduler's own import failed
        theirs = {**theirs, f"the scheduler {scheduler}": err}
    wrong = {where: _version_of(what) for where, what in theirs.items() if what != __version__}
    if wrong:
        named = [f"{where} ({what})" for where, what in sorted(wrong.items())]
        if len(named) > NAMED:
            named[NAMED:] = [f"{len(named) - NAMED} more"]
        raise AutodiffError(
            INPUT,
            f"autodiff {__version__} is needed on every Dask worker and the scheduler; not on "
            + ", ".join(named)
            + f": pip install 'autodiff-cli[dask]=={__version__}' there",
        )
    threads = sum(client.nthreads().values())
    note = f"autodiff: Dask scheduler {printable(scheduler)}: {len(theirs) - 1} workers, {threads} threads"
    with contextlib.suppress(Exception):  # only a scheduler that serves one has a dashboard
        if "dashboard" in client.scheduler_info().get("services", {}):
            note += f"; dashboard {printable(str(client.dashboard_link))}"
    tell(note)
    busy = sum(len(keys) for keys in client.processing().values())
    if busy:
        tell(f"autodiff: the Dask workers are running {busy} tasks of other clients: jobs start as they free up")


def _version_of(answer: Any) -> str:
    """What a machine's answer to PROBE says, as a short phrase."""
    if isinstance(answer, ModuleNotFoundError):
        return "no autodiff"
    if isinstance(answer, BaseException):
        return f"autodiff fails to import: {one_line(answer)}"
    return f"autodiff {str(answer)[:40]}"


def configured_note(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """What a batch without --scheduler says when Dask's DASK_SCHEDULER_ADDRESS is set: it still runs here."""
    address = environ.get("DASK_SCHEDULER_ADDRESS")
    if not address:
        return None
    return f"autodiff: running here; DASK_SCHEDULER_ADDRESS ({printable(address[:200])}) is used with --scheduler dask"
