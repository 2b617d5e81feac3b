"""Structure of the demo plant: sites, lines, machines and the signals they carry.

Pure data; the generators in this package simulate operations, sensors, supply and
planted data-quality faults over this layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# Stock locations of the demo's supply data (areas of the site, see assets_frame).
LOCATIONS = ("DC-NORTH", "DC-SOUTH")


@dataclass(frozen=True)
class SignalSpec:
    name: str
    unit: str
    kind: str
    lower: float
    upper: float
    period_s: float = 10.0


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec("vibration_rms", "mm/s", "vibration", 0.0, 50.0),
    SignalSpec("temperature", "degC", "temperature", -20.0, 150.0),
    SignalSpec("pressure", "bar", "pressure", 0.0, 16.0),
    SignalSpec("motor_current", "A", "current", 0.0, 120.0),
    SignalSpec("speed", "rpm", "speed", 0.0, 3600.0),
    SignalSpec("acoustic", "dB", "sound_level", 20.0, 130.0),
)


@dataclass(frozen=True)
class MachineSpec:
    asset: str
    line: str
    position: int  # 0-based position along the line (material flows 0 -> n-1)
    kind: str  # e.g. 'press', 'cnc', 'washer'
    ideal_cycle_s: float
    nominal_speed_rpm: float


@dataclass(frozen=True)
class PlantLayout:
    site: str
    area: str
    lines: tuple[str, ...]
    machines: tuple[MachineSpec, ...]
    signals: tuple[SignalSpec, ...] = SIGNALS

    def machines_on(self, line: str) -> tuple[MachineSpec, ...]:
        return tuple(m for m in self.machines if m.line == line)

    def bottleneck(self, line: str) -> str:
        """The designed bottleneck of a line: its slowest machine."""
        return max(self.machines_on(line), key=lambda m: m.ideal_cycle_s).asset

    def assets_frame(self) -> pd.DataFrame:
        rows = [
            {
                "asset": self.site,
                "parent": None,
                "level": "site",
                "name": "Demo plant",
                "site": self.site,
                "line": None,
            },
            {
                "asset": self.area,
                "parent": self.site,
                "level": "area",
                "name": "Machining",
                "site": self.site,
                "line": None,
            },
        ]
        rows += [
            {
                "asset": line,
                "parent": self.area,
                "level": "line",
                "name": f"Line {line}",
                "site": self.site,
                "line": line,
            }
            for line in self.lines
        ]
        rows += [
            {
                "asset": m.asset,
                "parent": m.line,
                "level": "machine",
                "name": f"{m.kind} {m.position + 1}",
                "site": self.site,
                "line": m.line,
            }
            for m in self.machines
        ]
        # The stock locations of the supply data are areas of the site: that is how a
        # location's inventory and forecasts belong to a site (tenant isolation).
        rows += [
            {
                "asset": location,
                "parent": self.site,
                "level": "area",
                "name": f"Distribution centre {location.removeprefix('DC-').title()}",
                "site": self.site,
                "line": None,
            }
            for location in LOCATIONS
        ]
        return pd.DataFrame(rows)

    def signals_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "asset": m.asset,
                    "signal": s.name,
                    "unit": s.unit,
                    "kind": s.kind,
                    "lower": s.lower,
                    "upper": s.upper,
                    "period_s": s.period_s,
                }
                for m in self.machines
                for s in self.signals
            ]
        )


_KINDS = ("saw", "cnc", "press", "weld", "paint", "pack")


def default_layout(lines: int = 2, machines_per_line: int = 6) -> PlantLayout:
    """Two lines of six machines; the fourth machine of each line is the slowest."""
    line_ids = tuple(f"L{i + 1}" for i in range(lines))
    machines = []
    for li, line in enumerate(line_ids):
        for pos in range(machines_per_line):
            # Position 3 is the designed bottleneck; the others have 10-30 % spare capacity.
            cycle = 30.0 if pos == 3 else 30.0 * (0.72 + 0.04 * ((pos + li) % 5))
            machines.append(
                MachineSpec(
                    asset=f"{line}-M{pos + 1:02d}",
                    line=line,
                    position=pos,
                    kind=_KINDS[pos % len(_KINDS)],
                    ideal_cycle_s=round(cycle, 1),
                    nominal_speed_rpm=1200.0 + 150.0 * pos,
                )
            )
    return PlantLayout(site="PLANT1", area="PLANT1-A", lines=line_ids, machines=tuple(machines))
