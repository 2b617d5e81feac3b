"""ONNX export of a :class:`~shopfloor.maintenance.live.LiveModel` (DESIGN §6: ONNX for the edge).

The graph computes exactly :func:`~shopfloor.maintenance.live.live_scores`, in float64
(every operator it uses has a double kernel in onnxruntime's CPU provider, so there is
no float32 tolerance to argue about: the tests ask for agreement to 1e-12):

- inputs ``values`` ``[N, S]`` (the model's signals in order, NaN for no value) and
  ``context`` ``[N]``;
- outputs ``score`` ``[N]`` (NaN for rows not scored) and ``sigma`` ``[N, S]``.

NaN values are skipped by the median as in the monitor: NaNs are pushed to the end
(replaced by +inf) before a full ascending ``TopK``, the number of real values per row
picks the middle element(s), and a row with none gets NaN.  Comparisons (``Less``,
``Where``) stand in for ``Max``/``Relu``/``Clip`` wherever a NaN may meet them: ONNX
leaves NaN propagation of those operators to the runtime.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from shopfloor.maintenance.live import LiveModel

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17: readable by older runtimes too
_D = TensorProto.DOUBLE


def _const(name: str, value: object, dtype: type = np.float64) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name=name)


def to_onnx(model: LiveModel) -> bytes:
    """The serialized ONNX model of one asset's live condition score."""
    n_signals = len(model.signals)
    inits = [
        _const("centre", model.centre),
        _const("scale", model.scale),
        _const("nominal", max(model.nominal, model.eps)),
        _const("bins", float(model.bins)),
        _const("bin_lo", 0.0),
        _const("bin_hi", float(model.bins + 1)),
        _const("min_usable", model.min_usable),
        _const("eps", model.eps),
        _const("zero", 0.0),
        _const("half", 0.5),
        _const("nan", np.nan),
        _const("inf", np.inf),
        _const("k", [n_signals], np.int64),
        _const("axis1", [1], np.int64),
        _const("one_i", 1, np.int64),
        _const("two_i", 2, np.int64),
        _const("zero_i", 0, np.int64),
    ]
    node = helper.make_node
    nodes = [
        # Usable rows: finite context at or above min_context × nominal (NaN compares false).
        node("GreaterOrEqual", ["context", "min_usable"], ["ctx_ge"]),
        node("IsInf", ["context"], ["ctx_inf"]),
        node("Not", ["ctx_inf"], ["ctx_finite"]),
        node("And", ["ctx_ge", "ctx_finite"], ["usable"]),
        node("Unsqueeze", ["usable", "axis1"], ["usable_col"]),
        # Context bin: round(context / nominal × bins) in 0 .. bins + 1 (unusable → 0, so
        # no NaN ever reaches the Cast and the Gather).
        node("Where", ["usable", "context", "zero"], ["ctx0"]),
        node("Div", ["ctx0", "nominal"], ["share"]),
        node("Mul", ["share", "bins"], ["share_bins"]),
        node("Round", ["share_bins"], ["bin_f"]),  # half to even, as numpy's round
        node("Clip", ["bin_f", "bin_lo", "bin_hi"], ["bin_c"]),
        node("Cast", ["bin_c"], ["bin"], to=TensorProto.INT64),
        node("Gather", ["centre", "bin"], ["centre_rows"], axis=0),
    ]
    if model.log_scale:
        nodes += [
            node("Less", ["values", "eps"], ["below_eps"]),
            node("Where", ["below_eps", "eps", "values"], ["floored"]),
            node("Log", ["floored"], ["level"]),
        ]
    else:
        nodes.append(node("Identity", ["values"], ["level"]))
    nodes += [
        node("Sub", ["level", "centre_rows"], ["residual"]),
        node("Div", ["residual", "scale"], ["sigma_all"]),
        node("Where", ["usable_col", "sigma_all", "nan"], ["sigma"]),
        # Positive part, NaN kept (Less is false for NaN).
        node("Less", ["sigma", "zero"], ["negative"]),
        node("Where", ["negative", "zero", "sigma"], ["positive"]),
        # NaN-skipping median over the signals.
        node("IsNaN", ["positive"], ["missing"]),
        node("Where", ["missing", "inf", "positive"], ["filled"]),
        node("TopK", ["filled", "k"], ["ascending", "order"], axis=1, largest=0, sorted=1),
        node("Not", ["missing"], ["present"]),
        node("Cast", ["present"], ["present_i"], to=TensorProto.INT64),
        node("ReduceSum", ["present_i", "axis1"], ["count"], keepdims=1),
        node("Sub", ["count", "one_i"], ["count_m1"]),
        node("Div", ["count_m1", "two_i"], ["lo_raw"]),
        node("Max", ["lo_raw", "zero_i"], ["lo"]),
        node("Div", ["count", "two_i"], ["hi"]),
        node("GatherElements", ["ascending", "lo"], ["mid_lo"], axis=1),
        node("GatherElements", ["ascending", "hi"], ["mid_hi"], axis=1),
        node("Add", ["mid_lo", "mid_hi"], ["mid_sum"]),
        node("Mul", ["mid_sum", "half"], ["median_col"]),
        node("Squeeze", ["median_col", "axis1"], ["median"]),
        node("Squeeze", ["count", "axis1"], ["count_row"]),
        node("Greater", ["count_row", "zero_i"], ["has_values"]),
        node("And", ["usable", "has_values"], ["scored"]),
        node("Where", ["scored", "median", "nan"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes,
        f"condition_{model.asset}",
        inputs=[
            helper.make_tensor_value_info("values", _D, ["N", n_signals]),
            helper.make_tensor_value_info("context", _D, ["N"]),
        ],
        outputs=[
            helper.make_tensor_value_info("score", _D, ["N"]),
            helper.make_tensor_value_info("sigma", _D, ["N", n_signals]),
        ],
        initializer=inits,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="shopfloor",
        doc_string=f"live condition score of {model.asset} (signals: {', '.join(model.signals)})",
    )
    onnx_model.ir_version = IR_VERSION
    helper.set_model_props(
        onnx_model,
        {
            "asset": model.asset,
            "context": model.context,
            "signals": ",".join(model.signals),
            "threshold": repr(model.threshold),
        },
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    data: bytes = onnx_model.SerializeToString()
    return data
