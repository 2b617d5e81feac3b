"""SQL that turns a source relation into canonical rows plus a rejection reason.

One query per file does parsing, unit conversion and validation in DuckDB's
vectorised engine; a row with a non-null ``__reason`` goes to quarantine, the others
to the target table.  No Python touches individual rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from shopfloor.errors import InputError, MappingError
from shopfloor.ingest.mapping import Mapping, TimestampMap
from shopfloor.ingest.sources import Source
from shopfloor.lake.tables import duckdb_type
from shopfloor.schema import ASSET_LEVELS, EVENT_KINDS, TS, TableSpec
from shopfloor.units import affine, compatible

_NUMERIC = (
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_numeric(duck_type: str) -> bool:
    return duck_type.upper().startswith(_NUMERIC)


@dataclass(frozen=True)
class Parsed:
    """SQL for one canonical field: its value, its raw text, and why it failed (or NULL)."""

    value: str
    raw: str
    failure: str  # SQL yielding a reason string or NULL


def timestamp_field(
    name: str, col: str, duck_type: str, tsmap: TimestampMap, aware_file: bool
) -> Parsed:
    """Parse a timestamp column to TIMESTAMPTZ (UTC session) with the mapping's rules."""
    raw = f"CAST({col} AS VARCHAR)"
    upper = duck_type.upper()
    tz = tsmap.timezone
    naive_failure = "NULL"
    if upper.startswith("TIMESTAMP WITH TIME ZONE"):
        value = col
    elif upper.startswith(("TIMESTAMP", "DATE")):
        value = (
            f"timezone({lit(tz)}, CAST({col} AS TIMESTAMP))"
            if tz
            else f"CAST(CAST({col} AS TIMESTAMP) AS TIMESTAMPTZ)"
        )
    elif tsmap.format in ("epoch_s", "epoch_ms", "epoch_us"):
        number = f"TRY_CAST({col} AS DOUBLE)"
        scale = {"epoch_s": 1_000_000, "epoch_ms": 1_000, "epoch_us": 1}[tsmap.format]
        value = f"make_timestamptz(CAST(round({number} * {scale}) AS BIGINT))"
    elif _is_numeric(upper):
        raise MappingError(
            "timestamps are numbers: set format = 'epoch_s' or 'epoch_ms' in the mapping",
            field=name,
        )
    elif tsmap.format == "iso":
        aware = (
            # ends_with first: cheap, and true for most aware files ('...Z'), so the OR
            # short-circuits before the substr() tests (10x cheaper per row).
            f"(ends_with({col}, 'Z') OR ends_with({col}, 'z') "
            f"OR substr({col}, -6, 1) IN ('+', '-') "
            f"OR (length({col}) > 16 AND substr({col}, -5, 1) IN ('+', '-')) "
            f"OR (length({col}) > 16 AND substr({col}, -3, 1) IN ('+', '-')))"
        )
        if tz:
            value = (
                f"CASE WHEN {aware} THEN TRY_CAST({col} AS TIMESTAMPTZ) "
                f"ELSE timezone({lit(tz)}, TRY_CAST({col} AS TIMESTAMP)) END"
            )
        else:
            value = f"TRY_CAST({col} AS TIMESTAMPTZ)"
        if aware_file and not tz:
            naive_failure = (
                f"CASE WHEN NOT {aware} THEN 'field ''{name}'': ''' || {col} || "
                "''' has no time zone while the file''s other timestamps do' END"
            )
    else:
        parsed = f"try_strptime({col}, {lit(tsmap.format)})"
        if "%z" in tsmap.format or "%Z" in tsmap.format:
            value = f"CAST({parsed} AS TIMESTAMPTZ)"
        elif tz:
            value = f"timezone({lit(tz)}, CAST({parsed} AS TIMESTAMP))"
        else:
            value = f"CAST(CAST({parsed} AS TIMESTAMP) AS TIMESTAMPTZ)"
    failure = (
        f"CASE WHEN {col} IS NOT NULL AND {value} IS NULL THEN "
        f"'field ''{name}'': cannot parse ''' || {raw} || ''' as a timestamp' "
        f"ELSE {naive_failure} END"
    )
    return Parsed(value=value, raw=raw, failure=failure)


def number_field(name: str, col: str, duck_type: str, integer: bool = False) -> Parsed:
    raw = f"CAST({col} AS VARCHAR)"
    target = "BIGINT" if integer else "DOUBLE"
    value = f"CAST({col} AS {target})" if _is_numeric(duck_type) else f"TRY_CAST({col} AS {target})"
    if integer:
        failure = (
            f"CASE WHEN {col} IS NOT NULL AND {value} IS NULL THEN "
            f"'field ''{name}'': ''' || {raw} || ''' is not an integer' END"
        )
    else:
        failure = (
            f"CASE WHEN {col} IS NOT NULL AND {value} IS NULL THEN "
            f"'field ''{name}'': ''' || {raw} || ''' is not a number' "
            f"WHEN isnan({value}) THEN 'field ''{name}'' is NaN' "
            f"WHEN isinf({value}) THEN 'field ''{name}'' is infinite' END"
        )
    return Parsed(value=value, raw=raw, failure=failure)


def _typed_field(
    name: str, dtype: pa.DataType, col: str, duck_type: str, tsmap: TimestampMap, aware_file: bool
) -> Parsed:
    if dtype == TS:
        return timestamp_field(name, col, duck_type, tsmap, aware_file)
    if pa.types.is_floating(dtype):
        return number_field(name, col, duck_type)
    if pa.types.is_integer(dtype):
        return number_field(name, col, duck_type, integer=True)
    if pa.types.is_date(dtype):
        value = f"TRY_CAST({col} AS DATE)"
        return Parsed(
            value,
            f"CAST({col} AS VARCHAR)",
            f"CASE WHEN {col} IS NOT NULL AND {value} IS NULL THEN 'field ''{name}'': ''' "
            f"|| CAST({col} AS VARCHAR) || ''' is not a date' END",
        )
    text = f"CAST({col} AS VARCHAR)"
    # trim() (spaces only) costs ~55 ns a cell; most cells have nothing to trim, and
    # starts_with/ends_with are ~5x cheaper, so trim only where a space sits at an end.
    value = (
        f"CASE WHEN starts_with({text}, ' ') OR ends_with({text}, ' ') "
        f"THEN NULLIF(trim({text}), '') ELSE NULLIF({text}, '') END"
    )
    return Parsed(value, text, "NULL")


def _reason(failures: list[str]) -> str:
    parts = [f for f in failures if f != "NULL"]
    return f"coalesce({', '.join(parts)})" if parts else "CAST(NULL AS VARCHAR)"


def _required(name: str, value: str, presence: str | None = None) -> str:
    # A parsed value is given; the costlier blank-text test only runs where parsing gave NULL.
    test = f"{value} IS NULL"
    if presence is not None and presence != value:
        test += f" AND {presence} IS NULL"
    return f"CASE WHEN {test} THEN 'field ''{name}'' is required' END"


def _extra_rules(spec: TableSpec, values: dict[str, str]) -> list[str]:
    """Table-specific plausibility rules beyond types."""
    rules: list[str] = []
    kinds = ", ".join(lit(k) for k in EVENT_KINDS)
    levels = ", ".join(lit(k) for k in ASSET_LEVELS)
    if spec.name == "events":
        rules.append(
            f"CASE WHEN {values['kind']} NOT IN ({kinds}) THEN 'field ''kind'': ''' || "
            f"{values['kind']} || ''' is not one of {'/'.join(EVENT_KINDS)}' END"
        )
    if spec.name == "assets":
        rules.append(
            f"CASE WHEN {values['level']} NOT IN ({levels}) THEN 'field ''level'': ''' "
            f"|| {values['level']} || ''' is not one of {'/'.join(ASSET_LEVELS)}' END"
        )
    if "start" in values and "end" in values:
        rules.append(
            f"CASE WHEN {values['end']} < {values['start']} THEN "
            "'field ''end'' is before ''start''' END"
        )
    for count in ("good", "scrap", "quantity", "quantity_ordered"):
        if count in values:
            rules.append(f"CASE WHEN {values[count]} < 0 THEN 'field ''{count}'' is negative' END")
    return rules


def _raw_json(raws: dict[str, str]) -> str:
    pairs = ", ".join(f"{lit(k)}, {v}" for k, v in raws.items())
    return f"json_object({pairs})"


def _select(
    outputs: dict[str, str],
    reason: str,
    raw: str,
    row: str | None,
    source_sql: str,
    spec: TableSpec,
    ingest_id: int,
) -> str:
    cols = [f"{v} AS {ident(k)}" for k, v in outputs.items()]
    if spec.storage == "delta":
        cols.append(f"CAST({ingest_id} AS BIGINT) AS ingest_id")
        if row is not None:  # None: the caller numbers rows (seq, __row) as they stream out
            cols.append(f"CAST({row} AS BIGINT) AS seq")
        if "day" in spec.partition_by:
            cols.append(f"CAST({outputs['ts']} AS DATE) AS day")
    cols += [
        f"{reason} AS __reason",
        *([f"CAST({row} AS BIGINT) AS __row"] if row is not None else []),
        f"CASE WHEN {reason} IS NOT NULL THEN CAST({raw} AS VARCHAR) END AS __raw",
    ]
    return f"SELECT {', '.join(cols)} FROM {source_sql}"


def table_query(
    source: Source,
    spec: TableSpec,
    mapping: Mapping,
    ingest_id: int,
    aware_file: bool,
    registered: dict[str, str],
) -> str:
    """Query for any table other than wide readings; the mapping's [columns] renames fields."""
    renames = dict(mapping.columns)
    if spec.name == "readings" and mapping.long is not None:
        renames.setdefault("signal", mapping.long.signal_column)
        renames.setdefault("value", mapping.long.value_column)
        if mapping.long.quality_column:
            renames.setdefault("quality", mapping.long.quality_column)
    if spec.name == "readings":
        renames.setdefault("ts", mapping.timestamp.column)
    values: dict[str, str] = {}
    raws: dict[str, str] = {}
    presence: dict[str, str] = {}  # a field counts as given when its raw text is not blank
    failures: list[str] = []
    for field in spec.schema:
        if field.name in ("ingest_id", "seq"):
            continue
        column = renames.get(field.name, field.name)
        if spec.name == "readings" and field.name == "asset" and mapping.asset.constant:
            values["asset"] = lit(mapping.asset.constant)
            continue
        if spec.name == "readings" and field.name == "asset" and mapping.asset.column:
            column = mapping.asset.column
        if column not in source.columns:
            if field.name in spec.required:
                raise InputError(
                    f"missing required column '{column}'", source=str(source.path), field=field.name
                )
            values[field.name] = f"CAST(NULL AS {duckdb_type(field.type)})"
            continue
        parsed = _typed_field(
            field.name,
            field.type,
            ident(column),
            source.columns[column],
            mapping.timestamp,
            aware_file,
        )
        values[field.name] = parsed.value
        raws[column] = parsed.raw
        presence[field.name] = f"NULLIF(trim({parsed.raw}), '')"
        failures.append(parsed.failure)
    if spec.name == "readings":
        values["value"] = long_units_sql(values["value"], values["signal"], mapping, registered)
    for name in reversed(spec.required):
        if name in values:
            failures.insert(0, _required(name, values[name], presence.get(name)))
    failures += _extra_rules(spec, values)
    # No row_number() OVER () here: it pins the whole pipeline (CSV parsing included) to one
    # thread.  Rows stream out in file order (preserve_insertion_order), and the ingest
    # numbers them (seq, __row) as they arrive: the same numbers, computed in parallel.
    return _select(
        values, _reason(failures), _raw_json(raws), None, source.relation, spec, ingest_id
    )


def unit_affine(
    signal: str, unit: str | None, registered: dict[str, str], where: str
) -> tuple[float, float]:
    """Conversion of a mapped unit into the signal's registered unit."""
    target = registered.get(signal)
    if unit is None or target is None:
        return 1.0, 0.0
    if not compatible(unit, target):
        raise MappingError(
            f"unit '{unit}' cannot be converted to '{target}', the registered unit of signal "
            f"'{signal}'",
            field=where,
        )
    return affine(unit, target)


def long_units_sql(value: str, signal: str, mapping: Mapping, registered: dict[str, str]) -> str:
    """Apply the mapping's [units] per signal name inside SQL (affine, so one CASE)."""
    cases = []
    for name, unit in mapping.units.items():
        a, b = unit_affine(name, unit, registered, f"units.{name}")
        if (a, b) != (1.0, 0.0):
            cases.append(f"WHEN {lit(name)} THEN {value} * {a!r} + {b!r}")
    if not cases:
        return value
    return f"CASE {signal} {' '.join(cases)} ELSE {value} END"


def wide_query(
    source: Source,
    spec: TableSpec,
    mapping: Mapping,
    signal_columns: dict[str, str],
    registered: dict[str, str],
    ingest_id: int,
    aware_file: bool,
) -> str:
    """Readings from one column per signal, unpivoted inside DuckDB (nulls kept)."""
    ts_col = mapping.timestamp.column
    if ts_col not in source.columns:
        raise InputError(
            f"missing timestamp column '{ts_col}'",
            source=str(source.path),
            field="timestamp.column",
        )
    for column in signal_columns:
        if column not in source.columns:
            raise MappingError(
                f"column '{column}' is not in the file",
                source=str(source.path),
                field=f"signals.{column}",
            )
    ts = timestamp_field("ts", ident(ts_col), source.columns[ts_col], mapping.timestamp, aware_file)
    if mapping.asset.constant:
        asset = lit(mapping.asset.constant)
        asset_raw = asset
    else:
        asset_col = mapping.asset.column or "asset"
        if asset_col not in source.columns:
            raise InputError(
                f"missing asset column '{asset_col}' (or set [asset] constant)",
                source=str(source.path),
                field="asset",
            )
        asset = f"NULLIF(trim(CAST({ident(asset_col)} AS VARCHAR)), '')"
        asset_raw = f"CAST({ident(asset_col)} AS VARCHAR)"
    # Unpivot text so columns of different source types line up; numbers re-parse below.
    casts = ", ".join(f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" for c in signal_columns)
    keep = ", ".join(
        f"{e} AS {n}"
        for n, e in [
            ("__asset", asset),
            ("__asset_raw", asset_raw),
            ("__ts", ts.value),
            ("__ts_raw", ts.raw),
            ("__ts_fail", ts.failure),
        ]
    )
    on = ", ".join(ident(c) for c in signal_columns)
    unpivoted = (
        f"(SELECT {keep}, {casts}, row_number() OVER () AS __rownum "
        f"FROM {source.relation}) __wide UNPIVOT INCLUDE NULLS (__cell FOR __col IN ({on}))"
    )
    signal_case = " ".join(f"WHEN {lit(c)} THEN {lit(m)}" for c, m in signal_columns.items())
    signal = f"CASE __col {signal_case} END"
    number = number_field("value", "__cell", "VARCHAR")
    value = number.value
    scale_cases = []
    for column, target in signal_columns.items():
        spec_map = mapping.signals.get(column)
        scale, offset = (spec_map.scale, spec_map.offset) if spec_map else (1.0, 0.0)
        a, b = unit_affine(
            target, spec_map.unit if spec_map else None, registered, f"signals.{column}.unit"
        )
        # value' = a * (scale * v + offset) + b
        fa, fb = a * scale, a * offset + b
        if (fa, fb) != (1.0, 0.0):
            scale_cases.append(f"WHEN {lit(column)} THEN {value} * {fa!r} + {fb!r}")
    if scale_cases:
        value = f"CASE __col {' '.join(scale_cases)} ELSE {value} END"
    outputs = {
        "asset": "__asset",
        "signal": signal,
        "ts": "__ts",
        "value": value,
        "quality": "CAST(NULL AS TINYINT)",
    }
    failures = [
        _required("asset", "__asset"),
        _required("ts", "__ts_raw"),
        "__ts_fail",
        number.failure,
    ]
    raw = _raw_json(
        {"asset": "__asset_raw", "ts": "__ts_raw", "column": "__col", "value": "__cell"}
    )
    return _select(outputs, _reason(failures), raw, "__rownum", unpivoted, spec, ingest_id)
