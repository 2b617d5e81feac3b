"""Grad-CAM localisation maps of the defect classifier (Selvaraju et al., 2017).

For the class of interest, the gradient of its logit with respect to one stage's feature
map, averaged over space, weights that map's channels; the positive part of the weighted
sum says where the evidence for the class lies.  By default the map comes from the
second-to-last stage (8x8 at 128 px) rather than the last (4x4): twice the resolution,
still semantic enough, which matters for small defects like pits and inclusions.

Maps are computed for whole batches (one backward pass per batch: each image's logit only
depends on that image in eval mode), upsampled to the input image size and normalised
to 0..1 per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError
from shopfloor.quality.vision.classifier import DefectClassifier
from shopfloor.quality.vision.preprocess import as_gray_batch, prepare


@dataclass(frozen=True)
class LocalisationMaps:
    """One 0..1 map per image, at the image's own size, for the class in ``targets``."""

    maps: npt.NDArray[np.float32]  # (N, H, W)
    targets: tuple[str, ...]  # class each map explains
    probabilities: npt.NDArray[np.float64]  # (N,) probability of that class


def grad_cam(
    classifier: DefectClassifier,
    images: npt.ArrayLike,
    *,
    target: str | None = None,
    stage: int = -2,
    batch_size: int = 64,
) -> LocalisationMaps:
    """Grad-CAM maps for ``images`` (``(N, H, W)`` uint8).

    ``target``: explain this class for every image; None explains each image's predicted
    class.  ``stage``: which residual stage's output to use (Python index).
    """
    import torch
    import torch.nn.functional as F

    classifier._check_fitted()
    gray = as_gray_batch(images)
    classes = classifier.classes_
    if target is not None and target not in classes:
        raise InputError(f"unknown class {target!r}; known: {', '.join(classes)}", field="target")
    net = classifier.network_
    stages = list(net.stages)
    if not -len(stages) <= stage < len(stages):
        raise InputError(f"stage must index one of {len(stages)} stages, got {stage}")
    cut = stage % len(stages) + 1
    x_all = prepare(gray, classifier.image_size)
    mean, std = classifier.mean_, classifier.std_
    out_maps: list[npt.NDArray[np.float32]] = []
    chosen: list[int] = []
    probs: list[npt.NDArray[np.float64]] = []
    net.eval()
    for start in range(0, len(gray), batch_size):
        x = (torch.from_numpy(x_all[start : start + batch_size]) - mean) / std
        with torch.enable_grad():
            feats = net.stem(x)
            for block in stages[:cut]:
                feats = block(feats)
            feats = feats.detach().requires_grad_(True)
            rest = feats
            for block in stages[cut:]:
                rest = block(rest)
            logits = net.classify(rest)
            if target is None:
                idx = logits.argmax(dim=1)
            else:
                idx = torch.full((x.shape[0],), classes.index(target), dtype=torch.long)
            picked = logits.gather(1, idx[:, None]).sum()
            (grads,) = torch.autograd.grad(picked, feats)
        with torch.no_grad():
            weights = grads.mean(dim=(2, 3), keepdim=True)
            cam = F.relu((weights * feats).sum(dim=1, keepdim=True))
            cam = F.interpolate(cam, size=gray.shape[1:], mode="bilinear", align_corners=False)
            cam = cam[:, 0]
            lo = cam.amin(dim=(1, 2), keepdim=True)
            hi = cam.amax(dim=(1, 2), keepdim=True)
            cam = torch.where(
                hi - lo > 1e-12, (cam - lo) / (hi - lo + 1e-12), torch.zeros_like(cam)
            )
            p = torch.softmax(logits, dim=1).gather(1, idx[:, None])[:, 0]
        out_maps.append(cam.numpy().astype(np.float32))
        chosen.extend(int(i) for i in idx)
        probs.append(p.numpy().astype(np.float64))
    return LocalisationMaps(
        maps=np.concatenate(out_maps),
        targets=tuple(classes[i] for i in chosen),
        probabilities=np.concatenate(probs),
    )
