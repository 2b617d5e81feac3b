"""ONNX export of the vision models and an onnxruntime runner for the edge.

The exported graphs take ``float32 (N, 1, S, S)`` pixel values 0..255 (what
:func:`~shopfloor.quality.vision.preprocess.prepare` makes with numpy and Pillow), with
the training normalisation inside the graph, so an edge box needs onnxruntime, numpy
and Pillow but no torch.  The batch axis is dynamic.  Classes, image size and model
version travel in the ONNX metadata, so a runner needs nothing but the file.

The legacy TorchScript-based exporter (``dynamo=False``) is used on purpose: the dynamo
exporter needs ``onnxscript``, which is not a dependency, and the networks here are
plain convolutions that the legacy exporter handles exactly.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError, MissingExtraError
from shopfloor.quality.vision.classifier import ClassProbabilities, DefectPredictions
from shopfloor.quality.vision.preprocess import prepare

if TYPE_CHECKING:
    from torch import nn

    from shopfloor.quality.vision.anomaly import AutoencoderAnomalyDetector
    from shopfloor.quality.vision.classifier import DefectClassifier

OPSET = 17
INPUT = "images"


def _export(
    module: nn.Module,
    path: Path | str,
    image_size: int,
    outputs: list[str],
    metadata: dict[str, str],
) -> Path:
    import onnx
    import torch

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    dummy = torch.zeros(2, 1, image_size, image_size)
    with warnings.catch_warnings():
        # the legacy exporter announces its own deprecation; that choice is deliberate
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (dummy,),
            str(target),
            dynamo=False,
            input_names=[INPUT],
            output_names=outputs,
            dynamic_axes={INPUT: {0: "batch"}, **{o: {0: "batch"} for o in outputs}},
            opset_version=OPSET,
        )
    model = onnx.load(str(target))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value
    onnx.save(model, str(target))
    return target


def export_classifier(classifier: DefectClassifier, path: Path | str) -> Path:
    """Write the classifier as ONNX with outputs ``logits`` and ``probabilities``."""
    import torch
    from torch import nn

    classifier._check_fitted()

    class _WithSoftmax(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits = self.inner(x)
            return logits, torch.softmax(logits, dim=1)

    return _export(
        _WithSoftmax(classifier.model_),
        path,
        classifier.image_size,
        ["logits", "probabilities"],
        {
            "shopfloor.kind": "defect-classifier",
            "shopfloor.classes": json.dumps(list(classifier.classes_)),
            "shopfloor.image_size": str(classifier.image_size),
            "shopfloor.model_version": classifier.model_version_,
        },
    )


def export_anomaly(detector: AutoencoderAnomalyDetector, path: Path | str) -> Path:
    """Write the unsupervised scorer as ONNX with outputs ``scores`` and ``maps``."""
    detector._check_fitted()
    return _export(
        detector.scorer_,
        path,
        detector.image_size,
        ["scores", "maps"],
        {
            "shopfloor.kind": "anomaly-autoencoder",
            "shopfloor.image_size": str(detector.image_size),
            "shopfloor.threshold": repr(detector.threshold_),
        },
    )


@dataclass(frozen=True)
class OnnxOutputs:
    """Raw outputs of one batched run, by output name."""

    arrays: dict[str, npt.NDArray[np.float32]]


class OnnxRunner:
    """Batched onnxruntime inference of an exported model (classifier or anomaly scorer).

    ``threads``: onnxruntime intra-op threads (inter-op is 1: the graphs are a single
    chain, so parallel branches would only add scheduling overhead).
    """

    def __init__(self, path: Path | str, *, threads: int = 2, batch_size: int = 64) -> None:
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - onnxruntime is a declared dependency
            raise MissingExtraError("onnxruntime", "vision") from exc
        source = str(path)
        if not Path(path).is_file():
            raise InputError("no such ONNX file", source=source)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"not a loadable ONNX model ({exc})", source=source) from exc
        meta: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.metadata = meta
        self.kind = meta.get("shopfloor.kind", "")
        self.image_size = int(meta.get("shopfloor.image_size", "0"))
        if self.image_size <= 0:
            raise InputError("the ONNX file has no shopfloor metadata", source=source)
        self.classes: tuple[str, ...] = tuple(json.loads(meta.get("shopfloor.classes", "[]")))
        self.model_version = meta.get("shopfloor.model_version", "")
        self.batch_size = batch_size
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run_prepared(self, x: npt.NDArray[np.float32]) -> OnnxOutputs:
        """Run on already prepared ``float32 (N, 1, S, S)`` pixels, batch by batch."""
        parts: dict[str, list[Any]] = {name: [] for name in self.output_names}
        for start in range(0, x.shape[0], self.batch_size):
            batch = np.ascontiguousarray(x[start : start + self.batch_size])
            for name, value in zip(
                self.output_names, self.session.run(None, {INPUT: batch}), strict=True
            ):
                parts[name].append(value)
        return OnnxOutputs({k: np.concatenate(v).astype(np.float32) for k, v in parts.items()})

    def run(self, images: npt.ArrayLike) -> OnnxOutputs:
        """Run on ``uint8`` images of any size (resized like the torch path)."""
        return self.run_prepared(prepare(images, self.image_size))

    def predict(self, images: npt.ArrayLike) -> DefectPredictions:
        """Class verdicts, as :meth:`DefectClassifier.predict` gives them."""
        if self.kind != "defect-classifier":
            raise InputError(f"not a defect classifier but {self.kind!r}", source="onnx")
        p = self.run(images).arrays["probabilities"].astype(np.float64)
        idx = p.argmax(axis=1).astype(np.int64)
        return DefectPredictions(
            labels=tuple(self.classes[i] for i in idx),
            indices=idx,
            confidence=p[np.arange(len(idx)), idx],
            probabilities=ClassProbabilities(probabilities=p, classes=self.classes),
            model_version=self.model_version,
        )


def classifier_parity(
    classifier: DefectClassifier, runner: OnnxRunner, images: npt.ArrayLike
) -> float:
    """Largest absolute difference of logits and probabilities, torch vs onnxruntime."""
    x = prepare(images, classifier.image_size)
    torch_logits = classifier.logits(x).astype(np.float64)
    out = runner.run_prepared(x).arrays
    z = torch_logits - torch_logits.max(axis=1, keepdims=True)
    torch_p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(
        max(
            np.abs(out["logits"] - torch_logits).max(),
            np.abs(out["probabilities"] - torch_p).max(),
        )
    )


def anomaly_parity(
    detector: AutoencoderAnomalyDetector, runner: OnnxRunner, images: npt.ArrayLike
) -> float:
    """Largest absolute difference of scores and (model-size) maps, torch vs onnxruntime."""
    import torch

    x = prepare(images, detector.image_size)
    with torch.inference_mode():
        scores, maps = detector.scorer_(torch.from_numpy(x))
    out = runner.run_prepared(x).arrays
    return float(
        max(
            np.abs(out["scores"] - scores.numpy()).max(),
            np.abs(out["maps"] - maps.numpy()).max(),
        )
    )
