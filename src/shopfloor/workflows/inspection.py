"""Visual inspection on the lake: train a defect classifier, inspect images, keep the verdicts.

Training reads a folder of labelled images (NEU-DET layout or flat; the class is the
file-name prefix), holds out a stratified share to measure the model, and registers it
in the lake's model registry with that measurement and its hyperparameters.

Inspection runs a registered model over a folder of images.  Every verdict becomes a
row of ``inspections`` (characteristic ``surface``): the label, its probability, pass or
fail, the image's path, the model as ``name:version`` (traceability: which model said
what, on which image) and the path of its Grad-CAM localisation map.  The rows go
through the regular ingest path as one Parquet file per run, written beside the maps in
``<lake>/inspection-runs/<run>/``: lineage, quarantine and exactly-once apply, and an
interrupted run leaves nothing half-written in the table.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.ingest import IngestSummary
from shopfloor.lake import Lake
from shopfloor.registry import ModelRegistry, ModelVersion
from shopfloor.workflows.ingest import ingest

__all__ = [
    "DEFAULT_MODEL",
    "GOOD_LABELS",
    "InspectionRun",
    "TrainedVision",
    "inspect_images",
    "train_vision",
]

DEFAULT_MODEL = "defect-classifier"
# Labels that mean "no defect": a verdict with one of them passes, any other label fails.
GOOD_LABELS: tuple[str, ...] = ("ok", "good", "pass", "no_defect", "none")
CHARACTERISTIC = "surface"
RUNS_DIR = "inspection-runs"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainedVision:
    record: ModelVersion
    classes: tuple[str, ...]
    images: int
    validation_images: int
    validation_accuracy: float | None
    macro_f1: float | None
    fit_seconds: float


def _stratified_holdout(
    labels: npt.NDArray[np.int64], share: float, seed: int
) -> npt.NDArray[np.bool_]:
    rng = np.random.default_rng(seed)
    held = np.zeros(labels.size, dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        take = round(share * members.size)
        held[rng.choice(members, size=min(take, members.size - 1), replace=False)] = True
    return held


def train_vision(
    lake: Lake,
    images: Path,
    *,
    name: str = DEFAULT_MODEL,
    classes: Sequence[str] | None = None,
    epochs: int | None = None,
    weights: Path | None = None,
    validation: float = 0.2,
    hyperparameters: Mapping[str, Any] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> TrainedVision:
    """Train a defect classifier on ``images`` and register it as the next version of ``name``.

    ``classes``: the class names the file names start with (default: the NEU classes).
    ``weights``: a state-dict file to start from instead of random weights.
    ``validation``: stratified share held out to measure the model (0: train on all).
    ``hyperparameters``: other settings of :class:`DefectClassifier` (image size, widths...).
    """
    from shopfloor.quality.vision import NEU_CLASSES, DefectClassifier, load_images
    from shopfloor.quality.vision.evaluation import classification_scores

    if not 0.0 <= validation < 0.9:
        raise InputError(f"must lie in [0, 0.9), not {validation}", field="validation")
    if weights is not None and not Path(weights).is_file():
        raise InputError("no such weights file", source=str(weights))
    known = tuple(classes) if classes else NEU_CLASSES
    model = DefectClassifier(
        classes=known, init_weights=None if weights is None else str(weights), seed=seed
    )
    model.set_params(**dict(hyperparameters or {}))  # ModelError names an unknown one
    if epochs is not None:
        model.set_params(epochs=epochs)
    data = load_images(images, known, size=model.image_size)
    held = (
        _stratified_holdout(data.labels, validation, seed)
        if validation > 0
        else np.zeros(len(data), dtype=bool)
    )

    def epoch_done(report: object) -> None:
        if progress is not None:
            progress("training", int(report.epoch), int(report.epochs))  # type: ignore[attr-defined]

    started = time.perf_counter()
    model.fit(data.images[~held], data.labels[~held], progress=epoch_done)
    seconds = time.perf_counter() - started
    accuracy = f1 = None
    if held.any():
        predicted = model.predict(data.images[held]).indices
        scores = classification_scores(data.labels[held], predicted, known)
        accuracy, f1 = scores.accuracy, scores.macro_f1
    metrics = {"fit_seconds": seconds, "train_images": float((~held).sum())}
    if accuracy is not None and f1 is not None:
        metrics |= {"validation_accuracy": accuracy, "validation_macro_f1": f1}
    record = ModelRegistry.for_lake(lake.path).register(
        name,
        model,
        metrics=metrics,
        notes=f"images from {Path(images).resolve()}; classes {', '.join(known)}",
    )
    return TrainedVision(record, known, len(data), int(held.sum()), accuracy, f1, seconds)


@dataclass(frozen=True)
class InspectionRun:
    run: str
    model: str  # name:version
    verdicts: pd.DataFrame  # one row per image, as stored
    folder: Path  # verdict file and maps
    ingest: IngestSummary

    @property
    def failed(self) -> int:
        return int((self.verdicts["verdict"] == "fail").sum())


def _write_map(image: npt.NDArray[np.uint8], heat: npt.NDArray[np.float32], path: Path) -> None:
    """The image in gray with the map over it in a heat colour scale (PNG)."""
    from matplotlib import colormaps
    from PIL import Image

    colour = colormaps["jet"](np.clip(heat, 0.0, 1.0))[..., :3]
    gray = np.repeat(image[..., None] / 255.0, 3, axis=2)
    blend = (0.55 * gray + 0.45 * colour) * 255.0
    Image.fromarray(blend.round().astype(np.uint8)).save(path)


def inspect_images(
    lake: Lake,
    images: Path,
    *,
    asset: str,
    product: str | None = None,
    order: str | None = None,
    name: str = DEFAULT_MODEL,
    version: int | None = None,
    good_labels: Sequence[str] = GOOD_LABELS,
    maps: bool = True,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> InspectionRun:
    """Classify every image of ``images`` with a registered model and store the verdicts."""
    from shopfloor.quality.vision.dataset import list_images, read_image
    from shopfloor.quality.vision.gradcam import grad_cam

    if not asset:
        raise InputError("give the asset whose parts the images show", field="asset")
    if batch_size < 1:
        raise InputError(f"must be at least 1, not {batch_size}", field="batch_size")
    registry = ModelRegistry.for_lake(lake.path)
    record = registry.get(name, version)
    model = registry.load(name, record.version)
    files = list_images(images)  # InputError naming the folder when it has none
    run = f"{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    folder = lake.path / RUNS_DIR / run
    folder.mkdir(parents=True)
    now = pd.Timestamp.now(tz="UTC").floor("us")
    good = {g.lower() for g in good_labels}
    rows: list[dict[str, object]] = []
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        pixels = [read_image(p) for p in chunk]
        # One batch per image size: maps come back at each image's own size.
        for shape in dict.fromkeys(p.shape for p in pixels):
            index = [i for i, p in enumerate(pixels) if p.shape == shape]
            batch = np.stack([pixels[i] for i in index])
            verdicts = model.predict(batch)
            heat = grad_cam(model, batch).maps if maps else None
            for j, i in enumerate(index):
                path = chunk[i]
                label = verdicts.labels[j]
                map_path = None
                if heat is not None:
                    map_path = folder / f"{start + i:06d}-{path.stem}.png"
                    _write_map(batch[j], heat[j], map_path)
                rows.append(
                    {
                        "asset": asset,
                        "ts": now,
                        "product": product,
                        "order": order,
                        "characteristic": CHARACTERISTIC,
                        "verdict": "pass" if label.lower() in good else "fail",
                        "image": str(path.resolve()),
                        "label": label,
                        "model": f"{record.name}:{record.version}",
                        "score": float(verdicts.confidence[j]),
                        "map": None if map_path is None else str(map_path.resolve()),
                    }
                )
        if progress is not None:
            progress("inspecting", min(start + batch_size, len(files)), len(files))
    frame = pd.DataFrame(rows).sort_values("image", kind="stable").reset_index(drop=True)
    verdict_file = folder / "verdicts.parquet"
    frame.to_parquet(verdict_file, index=False)
    summary = ingest(lake, [verdict_file], "inspections")
    return InspectionRun(run, f"{record.name}:{record.version}", frame, folder, summary)
