"""Sparkplug B (Eclipse Tahu, specification 3.0): payload codec and a stateful decoder.

Topics are ``spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]``.  How they
map onto shopfloor (see :class:`SparkplugMapping`): the site is the group id, the asset is
the device id (or the edge node id for node-level metrics), the signal is the metric name.

Payloads are the ``org.eclipse.tahu.protobuf.Payload`` protobuf message.  No generated
``*_pb2.py`` and no protoc: the message classes are built once, on first use, from a
``FileDescriptorProto`` written out below from the specification's ``sparkplug_b.proto``
(proto2).  Only what readings need is modelled in detail; ``metadata``, ``properties``
and the ``dataset`` / ``template`` / ``extension`` values are declared as opaque
``bytes`` under their own field numbers.  That is wire-compatible (a nested message and a
``bytes`` field are both length-delimited), so a real payload carrying them parses, and
``WhichOneof("value")`` still says a metric holds a data set or a template, which the
decoder counts and skips: they are not numeric readings.

Aliases: a BIRTH message names every metric and may give it a numeric alias; DATA
messages may then send the alias alone.  The decoder learns the alias tables from
NBIRTH/DBIRTH per edge node and device, forgets them on NDEATH/DDEATH, and refuses (with
a reason for the quarantine) DATA that uses an alias it never saw born: only a rebirth of
the edge node can resolve it, so the node is also added to
:attr:`SparkplugDecoder.rebirth_needed` for whoever may send the ``NCMD`` asking for one.

Deliberately light: protobuf only, no pandas/pyarrow (the edge runner imports this).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache
from typing import Any, Literal

from shopfloor.streaming.records import QUALITY_BAD, QUALITY_GOOD, ReadingBatch

NAMESPACE = "spBv1.0"
NODE_TYPES = frozenset({"NBIRTH", "NDATA", "NDEATH", "NCMD"})
DEVICE_TYPES = frozenset({"DBIRTH", "DDATA", "DDEATH", "DCMD"})
MESSAGE_TYPES = NODE_TYPES | DEVICE_TYPES | {"STATE"}
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"
# Timestamps outside 2000..2100 are unit mistakes (seconds or µs sent as milliseconds).
_MIN_US = 946_684_800_000_000
_MAX_US = 4_102_444_800_000_000


class DataType(IntEnum):
    """Metric datatypes of the specification (the arrays, 22..34, travel as bytes)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21


class SparkplugError(ValueError):
    """A Sparkplug message that cannot be read; ``str()`` is the quarantine reason."""


# -- the protobuf message classes, built at first use -----------------------------------


@cache
def payload_class() -> Any:
    """The ``org.eclipse.tahu.protobuf.Payload`` message class (built once, in its own pool)."""
    # protobuf ships no type stubs (types-protobuf is not a dependency)
    from google.protobuf import (  # type: ignore[import-untyped]
        descriptor_pb2,
        descriptor_pool,
        message_factory,
    )

    fdp = descriptor_pb2.FileDescriptorProto(
        name="shopfloor/sparkplug_b.proto", package="org.eclipse.tahu.protobuf", syntax="proto2"
    )
    f = descriptor_pb2.FieldDescriptorProto
    optional = f.LABEL_OPTIONAL

    def add(msg: Any, name: str, number: int, kind: int, **extra: Any) -> None:
        msg.field.add(
            name=name, number=number, type=kind, label=extra.pop("label", optional), **extra
        )

    payload = fdp.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    # MetaData (8), PropertySet (9), DataSet (17), Template (18) and MetricValueExtension
    # (19) are messages in the spec; here opaque bytes (same wire type, see the docstring).
    t = f
    for name, number, kind in (
        *(("name", 1, t.TYPE_STRING), ("alias", 2, t.TYPE_UINT64)),
        *(("timestamp", 3, t.TYPE_UINT64), ("datatype", 4, t.TYPE_UINT32)),
        *(("is_historical", 5, t.TYPE_BOOL), ("is_transient", 6, t.TYPE_BOOL)),
        *(("is_null", 7, t.TYPE_BOOL), ("metadata", 8, t.TYPE_BYTES)),
        *(("properties", 9, t.TYPE_BYTES), ("int_value", 10, t.TYPE_UINT32)),
        *(("long_value", 11, t.TYPE_UINT64), ("float_value", 12, t.TYPE_FLOAT)),
        *(("double_value", 13, t.TYPE_DOUBLE), ("boolean_value", 14, t.TYPE_BOOL)),
        *(("string_value", 15, t.TYPE_STRING), ("bytes_value", 16, t.TYPE_BYTES)),
        *(("dataset_value", 17, t.TYPE_BYTES), ("template_value", 18, t.TYPE_BYTES)),
        ("extension_value", 19, t.TYPE_BYTES),
    ):
        add(metric, name, number, kind, **({"oneof_index": 0} if number >= 10 else {}))
    for name, number, kind in (
        *(("timestamp", 1, t.TYPE_UINT64), ("seq", 3, t.TYPE_UINT64)),
        *(("uuid", 4, t.TYPE_STRING), ("body", 5, t.TYPE_BYTES)),
    ):
        add(payload, name, number, kind)
    metrics_type = ".org.eclipse.tahu.protobuf.Payload.Metric"
    add(payload, "metrics", 2, t.TYPE_MESSAGE, label=t.LABEL_REPEATED, type_name=metrics_type)
    # A private pool: a generated sparkplug_b_pb2 elsewhere in the process cannot clash.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload")
    )


# -- topics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SparkplugTopic:
    group: str
    message_type: str
    edge_node: str
    device: str | None = None

    @property
    def node(self) -> tuple[str, str]:
        return (self.group, self.edge_node)

    def __str__(self) -> str:
        return topic(self.group, self.message_type, self.edge_node, self.device)


def topic(group: str, message_type: str, edge_node: str, device: str | None = None) -> str:
    """``spBv1.0/group/TYPE/node[/device]``; device types need a device, node types none."""
    if message_type not in NODE_TYPES | DEVICE_TYPES:
        raise SparkplugError(f"'{message_type}' is not a Sparkplug B edge message type")
    if (message_type in DEVICE_TYPES) != (device is not None):
        raise SparkplugError(
            f"{message_type} {'needs' if device is None else 'takes no'} device id"
        )
    for part in (group, edge_node, *([device] if device is not None else [])):
        if not part or any(c in part for c in "/+#"):
            raise SparkplugError(f"Sparkplug ids must be non-empty without / + #: {part!r}")
    parts = [NAMESPACE, group, message_type, edge_node]
    return "/".join([*parts, device] if device is not None else parts)


def parse_topic(text: str) -> SparkplugTopic:
    """Split a Sparkplug topic; raises :class:`SparkplugError` for anything else."""
    parts = text.split("/")
    if len(parts) < 3 or parts[0] != NAMESPACE:
        raise SparkplugError(f"not a Sparkplug B topic ({NAMESPACE}/group/TYPE/node[/device])")
    if parts[1] == "STATE":  # spec 3.0: spBv1.0/STATE/<host id>
        return SparkplugTopic("", "STATE", "/".join(parts[2:]))
    kind = parts[2]
    if kind not in MESSAGE_TYPES:
        raise SparkplugError(f"unsupported Sparkplug message type '{kind}'")
    if kind == "STATE":
        return SparkplugTopic(parts[1], kind, "/".join(parts[3:]))
    want = 5 if kind in DEVICE_TYPES else 4
    if len(parts) != want or not all(parts[1:]):
        shape = "group/TYPE/node/device" if want == 5 else "group/TYPE/node"
        raise SparkplugError(f"a {kind} topic must be {NAMESPACE}/{shape}")
    return SparkplugTopic(parts[1], kind, parts[3], parts[4] if want == 5 else None)


# -- mapping to shopfloor ----------------------------------------------------------------


@dataclass(frozen=True)
class SparkplugMapping:
    """How Sparkplug ids become shopfloor assets and signals.

    ``asset_from="device"`` (default): a device's metrics belong to the device id, an edge
    node's own metrics to the edge node id.  ``asset_from="node"``: everything belongs to
    the edge node (a gateway is the machine), and a device's metric ``m`` becomes the
    signal ``<device><separator>m``.  The site is always the group id
    (:meth:`SparkplugDecoder.site_of`).  Metrics whose names start with one of
    ``skip_prefixes`` are Sparkplug housekeeping (birth/death sequence, rebirth and
    scan-rate controls, properties), not measurements.
    """

    asset_from: Literal["device", "node"] = "device"
    separator: str = "/"
    skip_prefixes: tuple[str, ...] = (
        BDSEQ_METRIC,
        "Node Control/",
        "Device Control/",
        "Properties/",
    )

    def asset(self, where: SparkplugTopic) -> str:
        if where.device is None or self.asset_from == "node":
            return where.edge_node
        return where.device

    def signal_prefix(self, where: SparkplugTopic) -> str:
        if where.device is not None and self.asset_from == "node":
            return where.device + self.separator
        return ""


@dataclass
class SparkplugStats:
    messages: int = 0
    births: int = 0
    deaths: int = 0
    data: int = 0
    ignored: int = 0  # NCMD, DCMD, STATE: not readings
    readings: int = 0
    nulls: int = 0
    non_numeric: int = 0  # string, bytes, data set, template, DateTime... metrics skipped
    control: int = 0  # bdSeq, Node Control/*, ... skipped
    seq_gaps: int = 0
    unknown_alias: int = 0  # messages refused for an alias never born


@dataclass
class _Birth:
    """What one BIRTH taught: alias -> (name, datatype) and name -> datatype."""

    aliases: dict[int, tuple[str, int]] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)


_SIGNED_32 = (DataType.Int8, DataType.Int16, DataType.Int32)
_NUMERIC = frozenset(range(1, 12))  # Int8 .. Boolean


def _int_value(raw: int, datatype: int) -> float:
    """A uint32 ``int_value`` as the number it stands for (two's complement if signed).

    Producers differ on how a negative Int8/Int16 is widened (sign-extended to 32 bits, as
    Tahu does, or kept 8/16 bits wide); a true Int8 never lies in 128..255, so both read.
    """
    if datatype in _SIGNED_32:
        if raw >= 0x8000_0000:
            return float(raw - 0x1_0000_0000)
        if datatype == DataType.Int8 and raw >= 0x80:
            return float(raw - 0x100)
        if datatype == DataType.Int16 and raw >= 0x8000:
            return float(raw - 0x1_0000)
    return float(raw)


class SparkplugDecoder:
    """Stateful Sparkplug B decoder: BIRTH/DATA messages → :class:`ReadingBatch`.

    One decoder serves one MQTT subscription (it is not thread-safe; paho calls
    ``on_message`` from one thread).  Readings take the metric's timestamp, else the
    payload's, else the time of receipt (milliseconds → µs).  ``is_null`` gives a reading
    without a value (in DATA; a null metric in a BIRTH only declares the metric), a NaN
    or infinite value one without a value and with quality bad, booleans read 0.0/1.0.
    """

    def __init__(self, mapping: SparkplugMapping | None = None) -> None:
        self.mapping = mapping or SparkplugMapping()
        self.stats = SparkplugStats()
        # Edge nodes whose alias tables or sequence we lost: they should be asked to rebirth.
        self.rebirth_needed: set[tuple[str, str]] = set()
        self._births: dict[tuple[str, str, str | None], _Birth] = {}
        self._next_seq: dict[tuple[str, str], int] = {}
        self._bd_seq: dict[tuple[str, str], int] = {}

    @staticmethod
    def site_of(text: str) -> str | None:
        """The site of a Sparkplug topic: its group id (None if not a Sparkplug topic)."""
        parts = text.split("/", 2)
        return parts[1] if len(parts) > 2 and parts[0] == NAMESPACE else None

    def known_aliases(
        self, group: str, edge_node: str, device: str | None = None
    ) -> dict[int, str]:
        birth = self._births.get((group, edge_node, device))
        return {a: name for a, (name, _) in birth.aliases.items()} if birth else {}

    def decode(
        self, text: str, payload: bytes, received_us: int, into: ReadingBatch | None = None
    ) -> ReadingBatch:
        """Readings of one message; raises :class:`SparkplugError` (nothing added) if bad."""
        where = parse_topic(text)
        kind = where.message_type
        self.stats.messages += 1
        out = ReadingBatch()
        if kind in ("NCMD", "DCMD", "STATE"):
            self.stats.ignored += 1
            return into if into is not None else out
        message = payload_class()()
        try:
            message.ParseFromString(payload)
        except Exception as err:  # protobuf's DecodeError (its module stays unimported)
            raise SparkplugError(
                f"not a Sparkplug B payload: {err or 'undecodable protobuf'}"
            ) from None
        node = where.node
        key = (where.group, where.edge_node, where.device)
        if kind == "NDEATH":
            self._node_death(node, message)
            return into if into is not None else out
        if kind == "DDEATH":
            self.stats.deaths += 1
            self._births.pop(key, None)
            self._check_seq(node, message)
            return into if into is not None else out
        if kind == "NBIRTH":
            for k in [k for k in self._births if k[:2] == node]:
                del self._births[k]  # a node's rebirth re-announces its devices too
            self.rebirth_needed.discard(node)
            if message.HasField("seq"):
                self._next_seq[node] = (message.seq + 1) % 256
            self._bd_seq.pop(node, None)
        else:
            self._check_seq(node, message)
        if kind.endswith("BIRTH"):
            self.stats.births += 1
            birth = self._births[key] = _Birth()
            self._learn(birth, message, node)
        else:
            self.stats.data += 1
            birth = self._births.get(key) or _Birth()
        self._readings(where, message, birth, received_us, kind.endswith("BIRTH"), out)
        self.stats.readings += len(out)
        if into is not None:
            into.extend(out)
            return into
        return out

    # -- state --------------------------------------------------------------------------
    def _node_death(self, node: tuple[str, str], message: Any) -> None:
        self.stats.deaths += 1
        bd_seq = next((m.long_value for m in message.metrics if m.name == BDSEQ_METRIC), None)
        born_with = self._bd_seq.get(node)
        if bd_seq is not None and born_with is not None and bd_seq != born_with:
            return  # the will of an older session arriving late: the node is alive again
        for k in [k for k in self._births if k[:2] == node]:
            del self._births[k]
        self._next_seq.pop(node, None)

    def _check_seq(self, node: tuple[str, str], message: Any) -> None:
        if not message.HasField("seq"):
            return
        seq = message.seq
        expected = self._next_seq.get(node)
        if expected is not None and seq != expected:
            # The spec asks for a rebirth; we keep the data (it decodes) and flag the node.
            self.stats.seq_gaps += 1
            self.rebirth_needed.add(node)
        self._next_seq[node] = (seq + 1) % 256

    def _learn(self, birth: _Birth, message: Any, node: tuple[str, str]) -> None:
        for m in message.metrics:
            name = m.name
            if not name:
                continue
            datatype = m.datatype
            birth.types[name] = datatype
            if m.HasField("alias"):
                birth.aliases[m.alias] = (name, datatype)
            if name == BDSEQ_METRIC and m.WhichOneof("value") == "long_value":
                self._bd_seq[node] = m.long_value

    # -- readings -----------------------------------------------------------------------
    def _readings(
        self,
        where: SparkplugTopic,
        message: Any,
        birth: _Birth,
        received_us: int,
        is_birth: bool,
        out: ReadingBatch,
    ) -> None:
        asset = self.mapping.asset(where)
        prefix = self.mapping.signal_prefix(where)
        skip = self.mapping.skip_prefixes
        default_us = message.timestamp * 1000 if message.timestamp else received_us
        aliases, types = birth.aliases, birth.types
        assets, signals, stamps, values, qualities = (
            out.asset,
            out.signal,
            out.ts_us,
            out.value,
            out.quality,
        )
        stats = self.stats
        for m in message.metrics:
            name = m.name
            if name:
                datatype = m.datatype or types.get(name, 0)
            else:
                alias = m.alias
                known = aliases.get(alias) if m.HasField("alias") else None
                if known is None:
                    stats.unknown_alias += 1
                    self.rebirth_needed.add(where.node)
                    what = (
                        f"alias {alias}"
                        if m.HasField("alias")
                        else "a metric with no name or alias"
                    )
                    raise SparkplugError(
                        f"{what} of {where.edge_node}/{where.device or '-'} was never born (no "
                        "BIRTH seen since start or since its DEATH): the edge node needs a rebirth"
                    )
                name, datatype = known
                datatype = m.datatype or datatype
            if name.startswith(skip):
                stats.control += 1
                continue
            kind = m.WhichOneof("value")
            quality = QUALITY_GOOD
            value: float | None
            if m.is_null:
                if is_birth:
                    continue
                value = None
                stats.nulls += 1
            elif kind in ("double_value", "float_value"):
                value = m.double_value if kind == "double_value" else m.float_value
                if not math.isfinite(value):  # type: ignore[arg-type]
                    value, quality = None, QUALITY_BAD
            elif datatype and datatype not in _NUMERIC:
                stats.non_numeric += 1
                continue
            elif kind == "int_value":
                value = _int_value(m.int_value, datatype)
            elif kind == "long_value":
                raw = m.long_value
                value = float(raw - (1 << 64) if datatype == DataType.Int64 and raw >> 63 else raw)
            elif kind == "boolean_value":
                value = 1.0 if m.boolean_value else 0.0
            elif kind is None:
                if is_birth:
                    continue  # a birth may declare a metric without a current value
                value = None
                stats.nulls += 1
            else:
                stats.non_numeric += 1
                continue
            stamp = m.timestamp
            ts = stamp * 1000 if stamp else default_us
            if not _MIN_US <= ts <= _MAX_US:
                raise SparkplugError(
                    f"metric '{name}': timestamp {stamp or message.timestamp} is outside "
                    "2000..2100 (Sparkplug timestamps are epoch milliseconds)"
                )
            assets.append(asset)
            signals.append(prefix + name)
            stamps.append(ts)
            values.append(value)
            qualities.append(quality)


# -- encoding (publishers, the simulator, tests) -----------------------------------------

Value = float | int | bool | str | None
MetricKey = int | str  # an alias or a name


def _set_value(metric: Any, value: Value, datatype: int) -> None:
    metric.datatype = datatype
    if value is None:
        metric.is_null = True
    elif datatype == DataType.Double:
        metric.double_value = float(value)
    elif datatype == DataType.Float:
        metric.float_value = float(value)
    elif datatype == DataType.Boolean:
        metric.boolean_value = bool(value)
    elif datatype in (DataType.Int64, DataType.UInt64, DataType.DateTime):
        metric.long_value = int(value) & 0xFFFF_FFFF_FFFF_FFFF
    elif datatype in _NUMERIC:
        metric.int_value = int(value) & 0xFFFF_FFFF  # sign-extended, as Tahu does
    elif datatype in (DataType.String, DataType.Text, DataType.UUID):
        metric.string_value = str(value)
    else:
        raise SparkplugError(f"cannot encode a {DataType(datatype).name} metric here")


def encode_birth(
    metrics: Mapping[str, tuple[int | None, int]] | Sequence[tuple[str, int | None, int]],
    ts_ms: int,
    seq: int,
    *,
    values: Mapping[str, Value] | None = None,
    bd_seq: int | None = None,
    rebirth_control: bool = False,
) -> bytes:
    """An NBIRTH/DBIRTH payload declaring ``metrics`` as ``name -> (alias or None, datatype)``.

    ``values`` gives current values; metrics without one are sent ``is_null`` (declared
    only).  An NBIRTH should pass ``bd_seq`` and ``rebirth_control=True`` (spec 3.0).
    """
    items = (
        metrics.items() if isinstance(metrics, Mapping) else ((n, (a, d)) for n, a, d in metrics)
    )
    message = payload_class()(timestamp=ts_ms, seq=seq % 256)
    if bd_seq is not None:
        _set_value(message.metrics.add(name=BDSEQ_METRIC, timestamp=ts_ms), bd_seq, DataType.Int64)
    if rebirth_control:
        _set_value(
            message.metrics.add(name=REBIRTH_METRIC, timestamp=ts_ms), False, DataType.Boolean
        )
    given = values or {}
    for name, (alias, datatype) in items:
        metric = message.metrics.add(name=name, timestamp=ts_ms)
        if alias is not None:
            metric.alias = alias
        _set_value(metric, given.get(name), datatype)
    return bytes(message.SerializeToString())


def encode_data(
    values: Iterable[tuple[MetricKey, Value, int | None]],
    ts_ms: int,
    seq: int,
    *,
    aliases: Mapping[str, int] | None = None,
    datatypes: Mapping[Any, int] | None = None,  # alias or name -> DataType
    use_aliases: bool = True,
) -> bytes:
    """An NDATA/DDATA payload of ``(alias or name, value, ts_ms or None)``.

    With ``aliases`` (the birth's name → alias) and ``use_aliases``, names are sent as
    their aliases, which is what makes Sparkplug compact.  Datatypes default to Double.
    """
    message = payload_class()(timestamp=ts_ms, seq=seq % 256)
    lookup = aliases if use_aliases and aliases else {}
    types = datatypes or {}
    add = message.metrics.add
    for key, value, stamp in values:
        metric = add(timestamp=stamp) if stamp is not None else add()
        target = lookup.get(key, key) if isinstance(key, str) else key
        if isinstance(target, str):
            metric.name = target
        else:
            metric.alias = target
        datatype = types.get(key, DataType.Double)
        if datatype == DataType.Double and value is not None:
            metric.datatype = DataType.Double
            metric.double_value = value
        else:
            _set_value(metric, value, datatype)
    return bytes(message.SerializeToString())


def encode_death(bd_seq: int, ts_ms: int | None = None) -> bytes:
    """An NDEATH payload (the edge node's MQTT will): the bdSeq of the session it ends."""
    message = payload_class()()
    if ts_ms is not None:
        message.timestamp = ts_ms
    _set_value(message.metrics.add(name=BDSEQ_METRIC), bd_seq, DataType.Int64)
    return bytes(message.SerializeToString())


def encode_rebirth_request(ts_ms: int) -> bytes:
    """The NCMD payload asking an edge node to publish its births again."""
    message = payload_class()(timestamp=ts_ms)
    _set_value(message.metrics.add(name=REBIRTH_METRIC, timestamp=ts_ms), True, DataType.Boolean)
    return bytes(message.SerializeToString())


def is_rebirth_request(payload: bytes) -> bool:
    """Whether an NCMD payload asks for a rebirth (False for anything unreadable)."""
    message = payload_class()()
    try:
        message.ParseFromString(payload)
    except Exception:
        return False
    return any(m.name == REBIRTH_METRIC and m.boolean_value for m in message.metrics)
