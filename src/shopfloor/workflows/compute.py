"""Which backend runs a batch pipeline, and the lake's tables as scans it can read.

Every pipeline that has a ``backend`` argument takes a name (``"local"``, ``"spark"``),
an open :class:`~shopfloor.compute.Backend`, or None for ``settings.compute.backend``.
A backend opened here from a name is closed when the pipeline ends; one passed in stays
open, so a run of several pipelines (``shopfloor batch``) starts Spark once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from shopfloor.compute import (
    Backend,
    BackendError,
    BackendUnavailable,
    Condition,
    DeltaScan,
    LocalBackend,
    SparkBackend,
)
from shopfloor.config import Settings
from shopfloor.errors import ComputeError, ConfigError, InputError
from shopfloor.lake import Lake

BACKENDS = ("local", "spark")
BackendChoice = Backend | str | None


def open_backend(settings: Settings, name: str | None = None) -> Backend:
    """A new backend by name (default: ``settings.compute.backend``)."""
    chosen = name or settings.compute.backend
    compute = settings.compute
    if chosen == "local":
        return LocalBackend(workers=compute.workers)
    if chosen == "spark":
        return SparkBackend(
            compute.spark_master, conf=compute.spark_conf, delta_reader=compute.delta_reader
        )
    raise InputError(f"backend must be {' or '.join(BACKENDS)}, not '{chosen}'", field="backend")


@contextmanager
def using_backend(settings: Settings, backend: BackendChoice) -> Iterator[Backend]:
    """The backend to run on: the one given, or a new one closed on exit.

    A backend that cannot start is a configuration problem (exit 2); a job that fails
    on it is a :class:`ComputeError`.
    """
    opened = None
    if backend is None or isinstance(backend, str):
        opened = open_backend(settings, backend)
    try:
        yield opened or backend  # type: ignore[misc]
    except BackendUnavailable as exc:
        raise ConfigError(str(exc)) from exc
    except BackendError as exc:
        raise ComputeError(str(exc)) from exc
    finally:
        if opened is not None:
            opened.close()


def lake_scan(
    lake: Lake,
    table: str,
    columns: Sequence[str],
    where: Sequence[Condition] = (),
    version: int | None = None,
) -> DeltaScan | None:
    """A scan of a lake table's snapshot (the current version by default); None if absent."""
    current = lake.version(table) if version is None else version
    if current is None:
        return None
    return DeltaScan(str(lake.table_path(table)), current, tuple(columns), tuple(where))
