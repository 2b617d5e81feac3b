"""Visual surface inspection: defect classification, localisation, unsupervised anomalies.

- :mod:`~shopfloor.quality.vision.dataset`: image folders in the NEU-DET layout, class
  from the file-name prefix, seeded stratified splits (numpy + Pillow only);
- :mod:`~shopfloor.quality.vision.network`: the CNN (:class:`DefectNet`, a torch module);
- :mod:`~shopfloor.quality.vision.classifier`: its trainer :class:`DefectClassifier`
  (estimator contract, save / load, typed predictions);
- :mod:`~shopfloor.quality.vision.gradcam`: Grad-CAM localisation maps;
- :mod:`~shopfloor.quality.vision.anomaly`: :class:`AutoencoderAnomalyDetector`, learnt
  from good images only (score, per-pixel map, threshold);
- :mod:`~shopfloor.quality.vision.onnx_export`: ONNX export, onnxruntime runner, parity.

Names are resolved lazily: importing this package does not import torch or onnxruntime
(``import shopfloor`` must stay light); the submodules that need them import them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "NEU_CLASSES": "dataset",
    "ImageSet": "dataset",
    "SplitDirs": "dataset",
    "class_of": "dataset",
    "load_images": "dataset",
    "split_dataset": "dataset",
    "DefectNet": "network",
    "load_weights": "network",
    "ClassProbabilities": "classifier",
    "DefectClassifier": "classifier",
    "DefectPredictions": "classifier",
    "EpochProgress": "classifier",
    "LocalisationMaps": "gradcam",
    "grad_cam": "gradcam",
    "AnomalyMaps": "anomaly",
    "AutoencoderAnomalyDetector": "anomaly",
    "OnnxRunner": "onnx_export",
    "anomaly_parity": "onnx_export",
    "classifier_parity": "onnx_export",
    "export_anomaly": "onnx_export",
    "export_classifier": "onnx_export",
}

__all__ = [
    "NEU_CLASSES",
    "AnomalyMaps",
    "AutoencoderAnomalyDetector",
    "ClassProbabilities",
    "DefectClassifier",
    "DefectNet",
    "DefectPredictions",
    "EpochProgress",
    "ImageSet",
    "LocalisationMaps",
    "OnnxRunner",
    "SplitDirs",
    "anomaly_parity",
    "class_of",
    "classifier_parity",
    "export_anomaly",
    "export_classifier",
    "grad_cam",
    "load_images",
    "load_weights",
    "split_dataset",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
