from __future__ import annotations

from pathlib import Path

import pytest

from shopfloor.streaming.records import ReadingBatch, Rejected
from shopfloor.streaming.spool import Spool, SpoolError

T = 1_764_000_000_000_000


def _batch(start: int, n: int, asset: str = "M1") -> ReadingBatch:
    out = ReadingBatch()
    for i in range(start, start + n):
        out.append(asset, "s", T + i, float(i))
    return out


def test_duplicates_are_dropped_within_and_across_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert len(spool.append(_batch(0, 10))) == 10
    assert len(spool.append(_batch(5, 10))) == 5  # 5..9 seen in this segment
    spool.seal()
    assert len(spool.append(_batch(10, 5))) == 0  # seen in the sealed segment
    doubled = _batch(100, 3)
    doubled.extend(_batch(100, 3))
    assert len(spool.append(doubled)) == 3
    assert spool.stats.duplicates == 5 + 5 + 3


def test_a_crash_leaves_unsealed_readings_to_replay_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(_batch(0, 10))
    spool.seal()
    spool.append(_batch(10, 10))
    spool.reject(Rejected("P1/A/L1/M1", "not JSON", b"{", T))
    spool.sync()
    # simulate SIGKILL: no close(); then a torn half frame at the end of the open segment
    newest = max(tmp_path.glob("*.seg"))
    with newest.open("ab") as handle:
        handle.write(b"SF\x10\x00\x00\x00garb")
    again = Spool(tmp_path, committed=-1)
    pending = again.pending()
    assert [len(s.readings) for s in pending] == [10, 10]
    assert pending[1].rejected[0].reason == "not JSON"
    assert again.stats.recovered == 20 and again.stats.torn_bytes == 10
    # the dedup window survives the restart: a redelivery is dropped
    assert len(again.append(_batch(15, 10))) == 5


def test_committed_segments_are_not_replayed_and_leave_the_window(tmp_path: Path) -> None:
    spool = Spool(tmp_path, dedup_segments=2)
    for i in range(4):
        spool.append(_batch(i * 10, 10))
        spool.seal()
    spool.mark_committed(3)
    assert spool.pending() == []
    assert len(list(tmp_path.glob("*.seg"))) == 3  # 2 in the window + the open one
    restarted = Spool(tmp_path, committed=3, dedup_segments=2)
    assert restarted.pending() == []
    assert len(restarted.append(_batch(30, 10))) == 0  # segment 3 still in the window
    assert len(restarted.append(_batch(0, 10))) == 10  # segment 0 left it


def test_a_spool_of_another_format_is_refused(tmp_path: Path) -> None:
    import marshal
    import struct
    import zlib

    body = marshal.dumps(("shopfloor-spool", 99, marshal.version))
    header = struct.pack("<2sII", b"SF", len(body), zlib.crc32(body))
    (tmp_path / "0000000000.seg").write_bytes(header + body)
    with pytest.raises(SpoolError, match="another spool format"):
        Spool(tmp_path)


def test_timestamps_outside_the_packed_range_are_still_deduplicated(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    odd = ReadingBatch()
    odd.append("M1", "s", -5, 1.0)  # before 1970
    odd.append("M1", "s", 1 << 53, 2.0)  # after 2112
    odd.append("M2", "s", -5, 3.0)
    assert len(spool.append(odd)) == 3
    assert len(spool.append(odd)) == 0
