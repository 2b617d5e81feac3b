"""Decode JSON payloads of MQTT messages into a :class:`ReadingBatch`.

Accepted shapes (``ts``: epoch milliseconds as a number, or an ISO-8601 string with a
zone; a missing ``ts`` means the time of receipt):

- on a signal topic: a bare number, ``{"value": 1.5, "ts": ..., "quality": 0}``, or a
  list of such objects (a batch of one signal);
- on a machine topic (no signal level): ``{"ts": ..., "values": {"temp": 71.2, ...}}``
  or a list of such rows (a batch of whole rows);
- either kind on a signal topic may also be a list mixing both shapes.

A message is accepted or refused whole: one bad element refuses it with a reason naming
the element and the field, and it goes to quarantine.  NaN and infinities are refused
(JSON has no such numbers; Python's parser accepts them, the lake must not); ``null`` is
a legal "no value" reading.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from shopfloor.streaming.records import ReadingBatch

_TS_KEYS = ("ts", "timestamp")
# Timestamps outside 2000..2100 are refused: epoch seconds or microseconds sent as
# milliseconds are the commonest unit mistake, and they land in 1970 or the far future.
_MIN_US = 946_684_800_000_000
_MAX_US = 4_102_444_800_000_000


class PayloadError(ValueError):
    """A payload that cannot be read; ``str()`` is the quarantine reason."""


def _reject_constant(name: str) -> float:
    raise PayloadError(f"'{name}' is not a number JSON allows")


def loads(payload: bytes) -> Any:
    try:
        return json.loads(payload, parse_constant=_reject_constant)
    except PayloadError:
        raise
    except (ValueError, UnicodeDecodeError) as err:
        raise PayloadError(f"not JSON: {err}") from None


def parse_ts(raw: Any, received_us: int, where: str) -> int:
    """Microseconds since the epoch from a payload's ``ts`` (None: time of receipt)."""
    if raw is None:
        return received_us
    if isinstance(raw, bool):
        raise PayloadError(f"{where}: 'ts' must be epoch milliseconds or ISO-8601")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise PayloadError(f"{where}: 'ts' is not finite")
        us = round(raw * 1000)
    elif isinstance(raw, str):
        try:
            stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError(f"{where}: 'ts' {raw[:40]!r} is not ISO-8601") from None
        if stamp.tzinfo is None:
            raise PayloadError(f"{where}: 'ts' {raw[:40]!r} has no time zone")
        us = round(stamp.timestamp() * 1_000_000)
    else:
        raise PayloadError(f"{where}: 'ts' must be epoch milliseconds or ISO-8601")
    if not _MIN_US <= us <= _MAX_US:
        raise PayloadError(f"{where}: 'ts' {raw!r} is outside 2000..2100 (epoch milliseconds?)")
    return us


def _value(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise PayloadError(f"{where}: value {str(raw)[:40]!r} is not a number")
    value = float(raw)
    if not math.isfinite(value):
        raise PayloadError(f"{where}: value is not finite")
    return value


def _quality(raw: Any, where: str) -> int:
    if raw is None:
        return 0
    if raw not in (0, 1, 2) or isinstance(raw, bool):
        raise PayloadError(f"{where}: quality must be 0 (good), 1 (uncertain) or 2 (bad)")
    return int(raw)


def decode_json(
    payload: bytes,
    asset: str,
    signal: str | None,
    received_us: int,
    into: ReadingBatch | None = None,
) -> ReadingBatch:
    """Readings of one message; raises :class:`PayloadError` (nothing is added) if bad."""
    data = loads(payload)
    items = data if isinstance(data, list) else [data]
    if not items:
        raise PayloadError("empty batch")
    out = ReadingBatch()
    for n, item in enumerate(items):
        where = f"element {n}" if isinstance(data, list) else "payload"
        if isinstance(item, dict):
            ts = parse_ts(next((item[k] for k in _TS_KEYS if k in item), None), received_us, where)
            quality = _quality(item.get("quality"), where)
            if "values" in item:
                values = item["values"]
                if not isinstance(values, dict) or not values:
                    raise PayloadError(f"{where}: 'values' must be an object of signal: value")
                for name, raw in values.items():
                    if not name:
                        raise PayloadError(f"{where}: empty signal name")
                    out.append(asset, name, ts, _value(raw, f"{where}, '{name}'"), quality)
            elif "value" in item:
                if signal is None:
                    raise PayloadError(
                        f"{where}: a machine topic needs 'values' (no signal in the topic)"
                    )
                out.append(asset, signal, ts, _value(item["value"], where), quality)
            else:
                raise PayloadError(f"{where}: needs 'value' or 'values'")
        elif signal is not None and not isinstance(item, list | str | dict):
            out.append(asset, signal, received_us, _value(item, where), 0)
        else:
            raise PayloadError(f"{where}: expected a number or an object")
    if into is not None:
        into.extend(out)
        return into
    return out


def encode_rows(rows: list[tuple[int, dict[str, float | None]]]) -> bytes:
    """A machine-topic batch: ``[(ts_us, {signal: value}), ...]`` → JSON bytes."""
    return json.dumps(
        [{"ts": ts_us / 1000.0, "values": values} for ts_us, values in rows],
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
