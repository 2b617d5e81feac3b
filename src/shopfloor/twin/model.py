"""The discrete-event model of the lines (SimPy), one replication at a time.

Each machine is a SimPy process that takes a lot of parts from the buffer before it
(a ``simpy.Container``; the first machine draws on the line's order sequence), works it
on the shift calendar, and puts the good parts into the buffer after it.  Waiting for
parts is *starved*, waiting for space *blocked* (counted only in working time).  A lot is
``twin.lot_parts`` parts (a few minutes of work): minor stops and the per-lot speed
noise are drawn inside a lot, failures and maintenance happen at lot boundaries or, for a
failure, part-way through the lot it strikes in, so the model is exact to well under one
lot.

A part's life is a Weibull draw in working hours; the condition model sees the fault once
``detect_fraction`` of the life has passed (the P-F interval), and then its RUL estimate
is the true remaining life times a log-normal error of the RUL model's spread.  The policy
(:mod:`shopfloor.twin.policies`) decides what happens next.  Common random numbers: each
machine's lives, repairs and stops come from its own stream of the replication's seed, so
two policies run with the same seed face the same wear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopfloor.errors import InputError
from shopfloor.twin.calibration import LineModel, MachineModel, PlantModel
from shopfloor.twin.policies import (
    Costs,
    Placement,
    Policy,
    choose_window,
    sequential_window,
)

STANDBY_AFTER_S = 120.0  # a waiting machine's standby delay in peak hours (tou_aware)


@dataclass
class MachineTally:
    """Seconds and counts of one machine over the run (working time only)."""

    asset: str
    run_s: float = 0.0
    minor_s: float = 0.0
    changeover_s: float = 0.0
    repair_s: float = 0.0
    pm_s: float = 0.0  # planned maintenance inside working time
    starved_s: float = 0.0
    blocked_s: float = 0.0
    parts: float = 0.0
    good: float = 0.0
    failures: int = 0
    pms: int = 0
    pms_off_shift: int = 0
    ideal_cycle_s: float = 0.0
    paused_s: float = 0.0  # switched off on purpose (peak-price hours)
    energy_kwh: float = 0.0
    energy_cost: float = 0.0


@dataclass
class _State:
    model: MachineModel
    rng: np.random.Generator
    tally: MachineTally
    is_bottleneck: bool
    life_h: float = 0.0
    age_h: float = 0.0
    detect_h: float = 0.0
    detected: bool = False
    pending: Placement | None = None
    product: str | None = None
    order_idx: int = 0
    order_left: float = 0.0
    yield_to_here: float = 1.0
    last_lot_end: float = 0.0
    detect_fraction: float = 0.7  # share of a life after which the fault is visible (P-F)
    replay: bool = False  # failures come from the history's trace, not from lives

    def new_life(self, fraction_used: float = 0.0) -> None:
        m = self.model
        # The draw is made in replay too, so every run consumes the stream alike.
        life = float(m.life_scale_h * self.rng.weibull(m.life_shape))
        if self.replay:
            self.life_h, self.age_h, self.detect_h, self.detected = np.inf, 0.0, np.inf, True
        else:
            self.life_h, self.age_h = life, fraction_used * life
            self.detect_h = life * self.detect_fraction
            self.detected = self.age_h >= self.detect_h
        self.pending = None


@dataclass
class LineResult:
    line: str
    good: float
    orders_done: int
    tardiness_h: float  # summed over orders finished late, and over orders still open past due
    machines: tuple[MachineTally, ...]


@dataclass
class RunResult:
    """One replication: per-line output and per-machine tallies."""

    seed: int
    policy: str
    lines: tuple[LineResult, ...]
    working_s: float  # working time of the calendar inside the horizon
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (t, asset, what)

    @property
    def machines(self) -> tuple[MachineTally, ...]:
        return tuple(m for line in self.lines for m in line.machines)

    def cost(self, costs: Costs) -> dict[str, float]:
        ms = self.machines
        failures = sum(m.failures for m in ms)
        pms = sum(m.pms for m in ms)
        off = sum(m.pms_off_shift for m in ms)
        maintenance = (
            failures * costs.failure
            + pms * costs.planned
            + off * costs.planned * costs.off_shift_premium
        )
        return {
            "maintenance": maintenance,
            "unplanned_downtime_h": sum(m.repair_s for m in ms) / 3600.0,
            "planned_downtime_h": sum(m.pm_s for m in ms) / 3600.0,
            "failures": float(failures),
            "pms": float(pms),
            "good": sum(line.good for line in self.lines),
            "tardiness_h": sum(line.tardiness_h for line in self.lines),
            "energy_kwh": sum(m.energy_kwh for m in ms),
            "energy_cost": sum(m.energy_cost for m in ms),
        }


def simulate(
    plant: PlantModel,
    policy: Policy,
    costs: Costs,
    seed: int,
    *,
    lot_parts: float = 20.0,
    record_events: bool = False,
    tou_aware: bool = False,
) -> RunResult:
    """One seeded replication of ``plant`` under ``policy`` over ``plant.horizon_s``.

    ``tou_aware``: in the tariff's peak hours a machine that has waited for parts or space
    for ``STANDBY_AFTER_S`` goes to standby and draws nothing until it can work again; the
    flow of parts is unchanged, so the same seed gives the same output and tardiness."""
    import simpy

    env = simpy.Environment()
    cal, horizon = plant.calendar, plant.horizon_s
    streams = np.random.SeedSequence(seed).spawn(len(plant.machines))
    rng_of = {
        m.asset: np.random.default_rng(s) for m, s in zip(plant.machines, streams, strict=True)
    }
    events: list[tuple[float, str, str]] = []
    line_results: list[dict[str, Any]] = []

    def note(asset: str, what: str) -> None:
        if record_events:
            events.append((env.now, asset, what))

    for line in plant.lines:
        line_results.append(
            _build_line(
                env, line, plant, policy, costs, rng_of, lot_parts, note, horizon, tou_aware
            )
        )
    env.run(until=horizon)
    working = cal.open_seconds(0.0, horizon)
    out = []
    for line, res in zip(plant.lines, line_results, strict=True):
        done = res["done"]
        tardy = sum(max(t - o.due_s, 0.0) for o, t in done) / 3600.0
        finished = {o.order for o, _ in done}
        tardy += sum(
            max(horizon - o.due_s, 0.0) / 3600.0
            for o in line.orders
            if o.order not in finished and o.due_s < horizon
        )
        tallies = tuple(s.tally for s in res["states"])
        out.append(LineResult(line.line, tallies[-1].good, len(done), tardy, tallies))
    return RunResult(seed, policy.kind, tuple(out), working, events)


def _build_line(
    env: Any,
    line: LineModel,
    plant: PlantModel,
    policy: Policy,
    costs: Costs,
    rng_of: dict[str, np.random.Generator],
    lot_parts: float,
    note: Any,
    horizon: float,
    tou_aware: bool,
) -> dict[str, Any]:
    import simpy

    cal = plant.calendar
    bn = line.bottleneck.asset
    # Buffers start half full: a running line holds work in progress (an empty start would
    # starve everything downstream for the first hours).
    buffers = [
        simpy.Container(env, capacity=max(c, lot_parts), init=max(c, lot_parts) / 2)
        for c in line.buffer_parts
    ]
    states: list[_State] = []
    done: list[tuple[Any, float]] = []
    yield_to = 1.0
    for m in line.machines:
        st = _State(
            m, rng_of[m.asset], MachineTally(m.asset, ideal_cycle_s=m.ideal_cycle_s), m.asset == bn
        )
        st.detect_fraction = plant.detect_fraction
        st.replay = policy.kind == "replay"
        st.yield_to_here = yield_to
        yield_to *= 1.0 - m.scrap_rate
        # Parts are part-worn at the start, as a plant is on any given day.
        st.new_life(fraction_used=float(st.rng.uniform(0.0, 0.75)))
        states.append(st)
    orders = list(line.orders)
    pace = line.bottleneck.cycle_s
    prices = plant.prices
    if tou_aware and prices is None:
        raise InputError("a time-of-use run needs a tariff and machine power", field="tariff")

    def spend(st: _State, a: float, b: float, running_s: float = 0.0) -> None:
        """Energy of ``[a, b)``: ``running_s`` of it at running power, the rest of its
        working time at idle power."""
        if prices is None or st.model.asset not in plant.power or b <= a:
            return
        run_kw, idle_kw = plant.power[st.model.asset]
        idle_s = max(cal.open_seconds(a, b) - running_s, 0.0)
        t = st.tally
        kwh = (run_kw * running_s + idle_kw * idle_s) / 3600.0
        t.energy_kwh += kwh
        t.energy_cost += kwh * prices.integral(a, b) / (b - a)  # at the mean price of [a, b)

    def wait(st: _State, a: float, b: float) -> None:
        """A wait for parts or space: with ``tou_aware`` the machine drops to standby
        (no power) once it has waited ``STANDBY_AFTER_S`` in the tariff's peak hours."""
        if tou_aware and prices is not None and prices.is_peak(a):
            awake = cal.advance(a, STANDBY_AFTER_S)
            if awake < b:
                spend(st, a, awake)
                st.tally.paused_s += cal.open_seconds(awake, b)
                return
        spend(st, a, b)

    def lost_parts(st: _State, seconds: float) -> float:
        # A bottleneck's stop loses the line's output; another machine's only what outlasts
        # the buffer between it and the bottleneck.
        if st.is_bottleneck:
            return seconds / pace
        k = next(j for j, s in enumerate(states) if s is st)
        b = next(j for j, s in enumerate(states) if s.is_bottleneck)
        cover = sum(line.buffer_parts[min(k, b) : max(k, b)]) * pace
        return max(seconds - cover, 0.0) / pace

    def renew(st: _State, *, off_shift: bool) -> Any:
        m, t = st.model, st.tally
        dur = float(st.rng.lognormal(m.pm_log_mean, m.pm_log_sd)) * 3600.0
        t.pms += 1
        if off_shift:
            t.pms_off_shift += 1
            note(m.asset, "pm_off_shift")
        else:
            end = cal.advance(env.now, dur)
            t.pm_s += cal.open_seconds(env.now, end)
            note(m.asset, "pm")
            yield env.timeout(end - env.now)
        st.new_life()
        st.last_lot_end = env.now

    def detect(st: _State) -> None:
        st.detected = True
        m = st.model
        if policy.kind in ("run_to_failure", "fixed_interval"):
            return
        if policy.kind == "as_operated":
            if st.rng.random() < policy.catch:
                st.pending = Placement(cal.next_open(cal.window_end(env.now) + 1.0), False)
            return
        rul = (st.life_h - st.age_h) * float(st.rng.lognormal(0.0, plant.rul_log_sd))
        pm_s = float(np.exp(m.pm_log_mean)) * 3600.0
        if policy.kind == "sequential":
            st.pending = sequential_window(env.now, rul, plant.rul_log_sd, policy, cal, pm_s)
        else:
            st.pending = choose_window(
                env.now,
                rul,
                plant.rul_log_sd,
                age_h=st.age_h,
                policy=policy,
                calendar=cal,
                costs=costs,
                pm_s=pm_s,
                parts_lost_in_shift=lost_parts(st, pm_s),
            )
        note(m.asset, "detected")

    def machine(i: int) -> Any:
        st = states[i]
        m, t = st.model, st.tally
        inbuf = buffers[i - 1] if i > 0 else None
        outbuf = buffers[i] if i < len(buffers) else None
        trace = list(plant.stops.get(m.asset, ())) if policy.kind == "replay" else []
        while env.now < horizon:
            now = env.now
            if trace and trace[0][0] <= now:
                _, seconds, what = trace.pop(0)
                end = cal.advance(now, seconds)
                if what == "failure":
                    t.failures += 1
                    t.repair_s += cal.open_seconds(now, end)
                else:
                    t.pms += 1
                    t.pm_s += cal.open_seconds(now, end)
                note(m.asset, what)
                yield env.timeout(end - now)
                continue
            if st.pending is not None and st.pending.start_s <= now:
                yield from renew(st, off_shift=st.pending.off_shift)
                continue
            if policy.kind == "fixed_interval" and st.age_h >= policy.interval_h:
                yield from renew(st, off_shift=False)
                continue
            if not cal.is_open(now):
                yield env.timeout(min(cal.next_open(now), horizon) - now)
                continue
            # Order and product: the first machine follows the order list; the others
            # follow the same list scaled by the yield of the machines before them.
            while st.order_left <= 1e-9 and st.order_idx < len(orders):
                o = orders[st.order_idx]
                st.order_left = o.quantity * st.yield_to_here
                if st.product is not None and o.product != st.product and m.changeover_s > 0:
                    t0, end = env.now, cal.advance(env.now, m.changeover_s)
                    t.changeover_s += cal.open_seconds(t0, end)
                    yield env.timeout(end - t0)
                    spend(st, t0, end)
                st.product = o.product
                st.order_idx += 1
            if st.order_left <= 1e-9:
                yield env.timeout(horizon - env.now)  # the order book is empty
                break
            n = min(lot_parts, st.order_left)
            if inbuf is not None:
                t0 = env.now
                n = min(n, inbuf.capacity)
                yield inbuf.get(n)
                t.starved_s += cal.open_seconds(t0, env.now)
                wait(st, t0, env.now)
            run = n * m.cycle_s * float(np.clip(st.rng.normal(1.0, 0.02), 0.9, 1.1))
            minors = st.rng.poisson(m.minor_per_h * run / 3600.0)
            minor = float(st.rng.gamma(2.0, m.minor_mean_s / 2.0, minors).sum()) if minors else 0.0
            left_h = st.life_h - st.age_h
            if run / 3600.0 >= left_h:  # fails part-way through this lot
                run_done = max(left_h, 0.0) * 3600.0
                made = n * run_done / run
                start = env.now
                end = cal.advance(start, run_done)
                yield env.timeout(end - start)
                spend(st, start, env.now, running_s=run_done)
                t.run_s, t.parts = t.run_s + run_done, t.parts + made
                good = made * (1.0 - m.scrap_rate)
                t.good += good
                st.order_left -= made
                if outbuf is not None and good > 0:
                    yield outbuf.put(good)
                if i == len(states) - 1:
                    _finish(st, orders, done, env.now)
                t.failures += 1
                note(m.asset, "failure")
                repair = float(st.rng.lognormal(m.repair_log_mean, m.repair_log_sd)) * 3600.0
                end = cal.advance(env.now, repair)
                t.repair_s += cal.open_seconds(env.now, end)
                yield env.timeout(end - env.now)
                st.new_life()
                st.last_lot_end = env.now
                continue
            start = env.now
            end = cal.advance(start, run + minor)
            yield env.timeout(end - start)
            spend(st, start, env.now, running_s=run)
            t.run_s += run
            t.minor_s += minor
            t.parts += n
            good = n * (1.0 - m.scrap_rate)
            t.good += good
            st.order_left -= n
            st.age_h += cal.open_seconds(st.last_lot_end, env.now) / 3600.0
            st.last_lot_end = env.now
            if not st.detected and st.age_h >= st.detect_h:
                detect(st)
            if outbuf is not None:
                t0 = env.now
                yield outbuf.put(good)
                t.blocked_s += cal.open_seconds(t0, env.now)
                wait(st, t0, env.now)
            if i == len(states) - 1:
                _finish(st, orders, done, env.now)

    for i in range(len(states)):
        env.process(machine(i))
    return {"states": states, "done": done}


def _finish(st: _State, orders: list[Any], done: list[tuple[Any, float]], now: float) -> None:
    """Record orders the last machine has completed (its order pointer moved past them)."""
    finished = st.order_idx - (1 if st.order_left > 1e-9 else 0)
    while len(done) < finished:
        done.append((orders[len(done)], now))
