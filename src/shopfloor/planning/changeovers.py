"""Sequence-dependent changeovers in the CP-SAT model.

A machine with setups gets a changeover variable per operation that may run on it, and
one ``AddCircuit`` over those operations: an arc ``i -> j`` says ``j`` directly follows
``i`` on the machine, and then ``j``'s changeover is the one from ``i``'s family to
``j``'s (the depot node stands for the machine's initial state).  The circuit makes the
changeover depend on the *actual* predecessor, which a no-overlap alone cannot express;
the no-overlap over the same intervals stays, for its stronger propagation.

Machines without any setup get no circuit and no variables: a pure job shop builds
exactly the model it built before setups existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopfloor.planning.problem import Alternative, Problem


@dataclass
class _Node:
    job: int
    alternative: Alternative
    present: Any  # None: mandatory on this machine
    held: Any
    end: Any
    setup: Any


class ChangeoverModel:
    """Collects the operations of machines with setups, then adds their circuits."""

    def __init__(self, model: Any, problem: Problem, horizon: int) -> None:
        self.model = model
        self.problem = problem
        self.horizon = horizon
        self.machines = problem.machines_with_setups()
        self.nodes: dict[int, list[_Node]] = {m: [] for m in self.machines}

    def longest(self, machine: int, job: int, alternative: Alternative) -> int:
        """The longest changeover ``job``'s operation may need on ``machine``."""
        family = self.problem.family(job)
        listed = (
            s.duration for s in self.problem.setups if s.machine == machine and s.after == family
        )
        return max([alternative.setup, *listed])

    def add(
        self, job: int, op: int, alternative: Alternative, start: Any, end: Any, present: Any
    ) -> tuple[Any, Any]:
        """``(held, setup)`` for one alternative: when the machine is taken, and for how long
        before processing.  Without setups on the machine: ``(start, 0)``."""
        if alternative.machine not in self.machines or alternative.duration == 0:
            return start, 0
        setup = self.model.new_int_var(
            0, self.longest(alternative.machine, job, alternative), f"su{job}_{op}"
        )
        held = self.model.new_int_var(0, self.horizon, f"h{job}_{op}")
        self.model.add(held + setup == start)
        self.nodes[alternative.machine].append(_Node(job, alternative, present, held, end, setup))
        return held, setup

    def add_sequences(self) -> None:
        for machine, nodes in self.nodes.items():
            if nodes:
                self._circuit(machine, nodes)

    def _circuit(self, machine: int, nodes: list[_Node]) -> None:
        model, problem = self.model, self.problem
        initial = problem.initial(machine)
        arcs: list[tuple[int, int, Any]] = []
        if all(node.present is not None for node in nodes):
            # The machine may end up with none of them: the depot then loops on itself.
            empty = model.new_bool_var(f"idle{machine}")
            arcs.append((0, 0, empty))
            for node in nodes:
                model.add_implication(empty, node.present.Not())
        families = [problem.family(node.job) for node in nodes]
        for i, node in enumerate(nodes, start=1):
            first = model.new_bool_var("")
            arcs.append((0, i, first))
            arcs.append((i, 0, model.new_bool_var("")))
            need = problem.setup_time(machine, initial, families[i - 1], node.alternative.setup)
            model.add(node.setup == need).only_enforce_if(first)
            if node.present is not None:
                arcs.append((i, i, node.present.Not()))
            for j, other in enumerate(nodes, start=1):
                if i == j:
                    continue
                follows = model.new_bool_var("")
                arcs.append((i, j, follows))
                model.add(other.held >= node.end).only_enforce_if(follows)
                need = problem.setup_time(
                    machine, families[i - 1], families[j - 1], other.alternative.setup
                )
                model.add(other.setup == need).only_enforce_if(follows)
        model.add_circuit(arcs)
