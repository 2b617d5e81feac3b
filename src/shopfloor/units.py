"""Engineering units: which are compatible, and the affine conversion between them.

Base layer (imports nothing of ours): ingest converts mapped values into a signal's
registered unit, and data quality recognises a value stream that switched unit.
Every conversion here is affine, ``to = a * from + b``, so it can run inside SQL.
"""

from __future__ import annotations

# unit -> (dimension, a, b) with value_in_base = a * value + b
_UNITS: dict[str, tuple[str, float, float]] = {
    # temperature, base degC
    "degC": ("temperature", 1.0, 0.0),
    "degF": ("temperature", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "K": ("temperature", 1.0, -273.15),
    # vibration velocity, base mm/s
    "mm/s": ("velocity", 1.0, 0.0),
    "in/s": ("velocity", 25.4, 0.0),
    "m/s": ("velocity", 1000.0, 0.0),
    # pressure, base bar
    "bar": ("pressure", 1.0, 0.0),
    "mbar": ("pressure", 1e-3, 0.0),
    "kPa": ("pressure", 0.01, 0.0),
    "Pa": ("pressure", 1e-5, 0.0),
    "MPa": ("pressure", 10.0, 0.0),
    "psi": ("pressure", 0.0689475729, 0.0),
    # current, base A
    "A": ("current", 1.0, 0.0),
    "mA": ("current", 1e-3, 0.0),
    # rotational speed, base rpm
    "rpm": ("rotational_speed", 1.0, 0.0),
    "Hz": ("rotational_speed", 60.0, 0.0),
    # sound level, base dB
    "dB": ("sound_level", 1.0, 0.0),
    "dBA": ("sound_level", 1.0, 0.0),
    # length, base mm
    "mm": ("length", 1.0, 0.0),
    "um": ("length", 1e-3, 0.0),
    "m": ("length", 1000.0, 0.0),
    "in": ("length", 25.4, 0.0),
    # dimensionless
    "%": ("ratio", 1.0, 0.0),
    "1": ("ratio", 100.0, 0.0),
}

_ALIASES = {
    "°C": "degC",
    "C": "degC",
    "celsius": "degC",
    "°F": "degF",
    "F": "degF",
    "fahrenheit": "degF",
    "kelvin": "K",
    "mm/sec": "mm/s",
    "ips": "in/s",
    "amp": "A",
    "amps": "A",
    "RPM": "rpm",
    "1/min": "rpm",
    "db": "dB",
    "dba": "dBA",
    "µm": "um",
    "percent": "%",
}


def canonical(unit: str) -> str:
    """The canonical spelling of a unit; unknown units are returned unchanged."""
    stripped = unit.strip()
    return _ALIASES.get(stripped, stripped)


def dimension(unit: str) -> str | None:
    entry = _UNITS.get(canonical(unit))
    return entry[0] if entry else None


def compatible(a: str, b: str) -> bool:
    """True when values in ``a`` can be converted to ``b`` (identical unknown units included)."""
    ca, cb = canonical(a), canonical(b)
    if ca == cb:
        return True
    da, db = dimension(ca), dimension(cb)
    return da is not None and da == db


def affine(from_unit: str, to_unit: str) -> tuple[float, float]:
    """``(a, b)`` with ``to = a * from + b``; ValueError for incompatible units."""
    src, dst = canonical(from_unit), canonical(to_unit)
    if src == dst:
        return 1.0, 0.0
    if not compatible(src, dst):
        raise ValueError(f"cannot convert '{from_unit}' to '{to_unit}'")
    _, a1, b1 = _UNITS[src]
    _, a2, b2 = _UNITS[dst]
    # base = a1*x + b1 ; to = (base - b2) / a2
    return a1 / a2, (b1 - b2) / a2


def convert(value: float, from_unit: str, to_unit: str) -> float:
    a, b = affine(from_unit, to_unit)
    return a * value + b


def same_dimension_units(unit: str) -> list[str]:
    """Other known units of the same dimension (candidates for a unit switch)."""
    dim = dimension(unit)
    if dim is None:
        return []
    own = canonical(unit)
    return [u for u, (d, _, _) in _UNITS.items() if d == dim and u != own]
