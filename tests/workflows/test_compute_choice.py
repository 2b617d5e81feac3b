"""Choosing a backend by name or settings, and how backend failures reach the user."""

from __future__ import annotations

import pytest

from shopfloor.compute import BackendError, BackendUnavailable, LocalBackend, SparkBackend
from shopfloor.compute.spark import first_line, local_defaults
from shopfloor.config import Settings, load_settings
from shopfloor.errors import ComputeError, ConfigError, InputError
from shopfloor.workflows.compute import open_backend, using_backend


def test_backends_by_name_and_by_settings() -> None:
    settings = Settings(compute={"workers": 2, "spark_master": "spark://m:7077"})
    local = open_backend(settings)
    assert isinstance(local, LocalBackend) and local.workers == 2
    spark = open_backend(settings, "spark")
    assert isinstance(spark, SparkBackend) and spark.master == "spark://m:7077"
    with pytest.raises(InputError, match="backend must be local or spark"):
        open_backend(settings, "dask")


def test_spark_master_shorthand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPFLOOR_SPARK_MASTER", "spark://a:7077")
    assert load_settings().compute.spark_master == "spark://a:7077"
    monkeypatch.setenv("SHOPFLOOR_COMPUTE__SPARK_MASTER", "yarn")  # the nested form wins
    assert load_settings().compute.spark_master == "yarn"
    monkeypatch.delenv("SHOPFLOOR_COMPUTE__SPARK_MASTER")
    monkeypatch.setenv("SHOPFLOOR_SPARK_MASTER", "")  # empty: join the running session
    assert load_settings().compute.spark_master is None
    monkeypatch.setenv("SHOPFLOOR_COMPUTE__BACKEND", "ray")
    with pytest.raises(ConfigError, match=r"compute\.backend"):
        load_settings()


class _Failing(LocalBackend):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def map_groups(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def, override]
        raise self.error


def test_backend_failures_become_platform_errors() -> None:
    settings = Settings()
    unavailable = _Failing(BackendUnavailable("needs pyspark"))
    with (
        pytest.raises(ConfigError, match="needs pyspark"),
        using_backend(settings, unavailable) as b,
    ):
        b.map_groups()  # type: ignore[call-arg]
    failing = _Failing(BackendError("task failed"))
    with pytest.raises(ComputeError, match="task failed"), using_backend(settings, failing) as b:
        b.map_groups()  # type: ignore[call-arg]


def test_first_line_finds_the_python_error_in_a_java_trace() -> None:
    trace = (
        "An error occurred while calling o123.collectToPython.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure\n"
        "Traceback (most recent call last):\n"
        '  File "worker.py", line 1\n'
        "ValueError: group function returned no column first\n"
        "\tat org.apache.spark.api.python.BasePythonRunner\n"
    )
    assert first_line(RuntimeError(trace)) == (
        "ValueError: group function returned no column first"
    )
    assert first_line(RuntimeError("")) == "RuntimeError"


def test_local_mode_defaults_follow_the_core_count() -> None:
    assert local_defaults("local[3]")["spark.sql.shuffle.partitions"] == "6"
    assert local_defaults("local")["spark.sql.shuffle.partitions"] == "2"
    assert local_defaults("spark://m:7077") == {}
    assert local_defaults(None) == {}
