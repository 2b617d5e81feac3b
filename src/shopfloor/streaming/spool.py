"""A local write-ahead spool: what the ingester acknowledged survives a crash.

Why: an MQTT broker forgets a QoS 1 message once the subscriber acknowledges it.  The
ingester therefore acknowledges a message only after its readings are on disk here
(``sync()`` = write + fsync, done for many messages at once: group commit), and moves
them to the lake later.  A SIGKILL between acknowledgement and lake commit loses nothing:
on restart the spool still holds the readings and hands them to the lake again.

Layout: one directory of numbered segment files ``0000000042.seg``.  A segment is a
sequence of frames ``magic(2) | length(4) | crc32(4) | body``; the body is a
:mod:`marshal`-encoded tuple (kind, columns...).  ``marshal`` because it is the fastest
serialiser in the standard library and a spool lives on one machine for minutes, not
years (its format version is in every segment's first frame; a mismatch is refused, not
misread).  A torn last frame (a crash mid-write) fails its length or CRC check and is cut
off on recovery: those readings were never acknowledged.

Exactly-once in the lake is the job of two mechanisms together:

- **commits**: the lake writer commits segment ``n`` with a Delta *application
  transaction* (app id = spool name, version = n) in the same atomic commit as the rows,
  and asks the table for that version on start-up, so a segment is written exactly once
  however often the process dies;
- **duplicates from redelivery** (a message spooled but not yet acknowledged when the
  process died is delivered again; a publisher resends after a broker restart): every
  reading's natural key ``(asset, signal, ts)`` is checked against the keys of the last
  ``dedup_segments`` segments (rebuilt from their files on start-up), so a redelivered
  reading is dropped before it is spooled twice.
"""

from __future__ import annotations

import marshal
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shopfloor.errors import ShopfloorError
from shopfloor.streaming.records import ReadingBatch, Rejected

_MAGIC = b"SF"
_HEADER = struct.Struct("<2sII")  # magic, body length, crc32(body)
_FORMAT = ("shopfloor-spool", 1, marshal.version)
_READINGS = "r"
_REJECTED = "q"
_SUFFIX = ".seg"
_TS_LIMIT = 1 << 52
Key = int | tuple[str, str, int]


class SpoolError(ShopfloorError):
    """The spool directory is unusable (another format, or not writable)."""


@dataclass
class Segment:
    """A sealed segment's content, ready for the lake."""

    seq: int
    readings: ReadingBatch = field(default_factory=ReadingBatch)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass
class SpoolStats:
    appended: int = 0  # readings written
    duplicates: int = 0  # readings dropped as already spooled
    rejected: int = 0  # messages spooled for quarantine
    syncs: int = 0
    recovered: int = 0  # readings found in unfinished segments at start-up
    torn_bytes: int = 0  # bytes of a torn last frame cut off at start-up


def _frame(body: bytes) -> bytes:
    return _HEADER.pack(_MAGIC, len(body), zlib.crc32(body)) + body


def _frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(end offset, body) of every intact frame; stops at the first torn one."""
    pos = 0
    while pos + _HEADER.size <= len(data):
        magic, length, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        body = data[start : start + length]
        if magic != _MAGIC or len(body) != length or zlib.crc32(body) != crc:
            return
        pos = start + length
        yield pos, body


class Spool:
    """Append readings, sync, seal segments, replay after a crash (thread-safe).

    ``committed`` is the last segment the lake holds (from the table's application
    transaction); segments up to it are not replayed and are deleted once they fall out
    of the de-duplication window.
    """

    def __init__(self, directory: Path, *, committed: int = -1, dedup_segments: int = 16) -> None:
        self.directory = Path(directory)
        self.dedup_segments = max(1, dedup_segments)
        self.stats = SpoolStats()
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SpoolError(f"cannot create the spool {self.directory}: {err}") from None
        self._window: deque[tuple[int, set[Key]]] = deque()
        # Every key of the window and the current segment, in one set: one lookup per
        # key (and a C-speed isdisjoint() for the common all-new batch) instead of one
        # per window segment.
        self._known: set[Key] = set()
        self._pairs: dict[tuple[str, str], int] = {}
        self._pending: list[Segment] = []  # sealed or recovered, not yet committed
        self.committed = committed
        existing = self._segment_numbers()
        for seq in existing:
            segment = self._recover(seq)
            keys = set(self._keys(segment.readings))
            self._window.append((seq, keys))
            self._known |= keys
            if seq > committed and (len(segment.readings) or segment.rejected):
                self._pending.append(segment)
                self.stats.recovered += len(segment.readings)
        self._trim_window()
        self._seq = max([committed, *existing]) + 1
        self._current = Segment(self._seq)
        self._current_keys: set[Key] = set()
        self._file = self._open(self._seq)
        self._dirty = False

    # -- files --------------------------------------------------------------------------
    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:010d}{_SUFFIX}"

    def _segment_numbers(self) -> list[int]:
        numbers = []
        for path in self.directory.glob(f"*{_SUFFIX}"):
            try:
                numbers.append(int(path.stem))
            except ValueError:
                continue
        return sorted(numbers)

    def _open(self, seq: int):  # type: ignore[no-untyped-def]
        handle = open(self._path(seq), "ab")  # noqa: SIM115 - kept open across calls
        if handle.tell() == 0:
            handle.write(_frame(marshal.dumps(_FORMAT)))
        return handle

    def _recover(self, seq: int) -> Segment:
        path = self._path(seq)
        data = path.read_bytes()
        segment = Segment(seq)
        end = 0
        first = True
        for end, body in _frames(data):  # noqa: B007 - end is used after the loop
            record = marshal.loads(body)
            if first:
                if tuple(record) != _FORMAT:
                    raise SpoolError(
                        f"{path}: written by another spool format {record!r}; "
                        "drain it with the version that wrote it"
                    )
                first = False
                continue
            if record[0] == _READINGS:
                _, asset, signal, ts_us, value, quality = record
                segment.readings.extend(ReadingBatch(asset, signal, ts_us, value, quality))
            elif record[0] == _REJECTED:
                _, source, reason, payload, received_us = record
                segment.rejected.append(Rejected(source, reason, payload, received_us))
        if end < len(data):
            # A torn tail: never synced, so never acknowledged.  Cut it off so that the
            # next append does not land behind garbage.
            self.stats.torn_bytes += len(data) - end
            with open(path, "r+b") as handle:
                handle.truncate(end)
        return segment

    # -- writing ------------------------------------------------------------------------
    def _keys(self, batch: ReadingBatch) -> list[Key]:
        """Natural keys packed in one int: (asset, signal) number × 2**52 + ts (µs).

        An int is a third of the memory of an (asset, signal, ts) tuple and hashes
        faster; the packing is exact (no collisions) while timestamps stay below 2**52
        µs (the year 2112).  Pair numbers are per process: the window is rebuilt from
        the segment files on start-up, so they never cross a restart.
        """
        pairs = self._pairs
        out: list[Key] = []
        for asset, signal, ts in zip(batch.asset, batch.signal, batch.ts_us, strict=True):
            pair = pairs.get((asset, signal))
            if pair is None:
                pair = pairs[asset, signal] = len(pairs)
            # outside 1970..2112 the packing could collide: keep the tuple itself
            out.append((pair << 52) + ts if 0 <= ts < _TS_LIMIT else (asset, signal, ts))
        return out

    def append(self, batch: ReadingBatch) -> ReadingBatch:
        """Spool the readings not seen before; returns those (possibly all, possibly none)."""
        with self._lock:
            keys = self._keys(batch)
            new = set(keys)
            if len(new) == len(keys) and self._known.isdisjoint(new):
                self._current_keys |= new
                self._known |= new
            else:
                fresh = ReadingBatch()
                for i, key in enumerate(keys):
                    if key in self._known:
                        continue
                    self._current_keys.add(key)
                    self._known.add(key)
                    fresh.append(
                        batch.asset[i],
                        batch.signal[i],
                        batch.ts_us[i],
                        batch.value[i],
                        batch.quality[i],
                    )
                self.stats.duplicates += len(batch) - len(fresh)
                batch = fresh
            if not len(batch):
                return batch
            body = marshal.dumps(
                (_READINGS, batch.asset, batch.signal, batch.ts_us, batch.value, batch.quality)
            )
            self._file.write(_frame(body))
            self._current.readings.extend(batch)
            self.stats.appended += len(batch)
            self._dirty = True
            return batch

    def reject(self, rejected: Rejected) -> None:
        """Spool a refused message for the quarantine table."""
        with self._lock:
            body = marshal.dumps(
                (
                    _REJECTED,
                    rejected.source,
                    rejected.reason,
                    rejected.payload,
                    rejected.received_us,
                )
            )
            self._file.write(_frame(body))
            self._current.rejected.append(rejected)
            self.stats.rejected += 1
            self._dirty = True

    def sync(self) -> bool:
        """Make everything appended so far durable; True when there was anything to sync.

        The write to the OS happens under the lock, the fsync outside it, so appends go
        on while the disk works; what was written before the fsync started is covered.
        """
        with self._lock:
            if not self._dirty:
                return False
            self._file.flush()
            fd = os.dup(self._file.fileno())
            self._dirty = False
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.stats.syncs += 1
        return True

    def seal(self) -> Segment | None:
        """Close the current segment (synced) and start the next; None when it is empty."""
        with self._lock:
            segment = self._current
            if not len(segment.readings) and not segment.rejected:
                return None
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._dirty = False
            self._window.append((segment.seq, self._current_keys))
            self._trim_window()
            self._pending.append(segment)
            self._seq += 1
            self._current = Segment(self._seq)
            self._current_keys = set()
            self._file = self._open(self._seq)
            return segment

    @property
    def current_size(self) -> int:
        return len(self._current.readings)

    # -- committing ---------------------------------------------------------------------
    def pending(self) -> list[Segment]:
        """Sealed (or recovered) segments the lake does not hold yet, oldest first."""
        with self._lock:
            return list(self._pending)

    def mark_committed(self, seq: int) -> None:
        """The lake holds every segment up to ``seq``: forget them (files kept for dedup)."""
        with self._lock:
            self.committed = max(self.committed, seq)
            self._pending = [s for s in self._pending if s.seq > seq]
            self._trim_window()

    def _trim_window(self) -> None:
        while len(self._window) > self.dedup_segments:
            seq, keys = self._window.popleft()
            self._known -= keys
            if seq <= self.committed:
                self._path(seq).unlink(missing_ok=True)
            else:  # not in the lake yet: keep the file, it is still needed
                self._window.appendleft((seq, set()))
                break

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
