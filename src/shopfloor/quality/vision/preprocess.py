"""Preprocessing shared by training, torch inference and the ONNX runner, and augmentation.

``prepare`` turns ``uint8`` images of any size into ``float32 (N, 1, S, S)`` pixel values
in 0..255 with numpy and Pillow only, so the torch path and the onnxruntime path (which
must not need torch at the edge) get byte-identical inputs; normalisation by the
training mean / std happens inside the network wrapper, hence inside the ONNX graph.

``augment`` works on whole torch batches at once (one affine grid per image): flips and
180 degree turns, optionally 90 degree rotations too (only where the defects have no
canonical orientation: on rolled steel the rolling direction is fixed in the image and
tells classes apart, e.g. NEU inclusions run along it and rolled-in scale across it, so
the defect classifier keeps the axes), zoomed crops with
translation (defects appear at any scale and place), and brightness / contrast jitter
(illumination varies between coils and cameras).  Doing it batched avoids a per-image
Python loop that would cost more than the network on two CPU cores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError
from shopfloor.quality.vision.dataset import resize_image

if TYPE_CHECKING:
    import torch

FloatArray = npt.NDArray[np.float32]


def as_gray_batch(images: npt.ArrayLike, source: str = "images") -> npt.NDArray[np.uint8]:
    """``(N, H, W)`` uint8 from ``(N, H, W)``, ``(N, H, W, C)`` or a list of ``(H, W)``."""
    arr = np.asarray(images)
    if arr.ndim == 4:
        arr = arr[..., 0] if arr.shape[-1] in (1, 3, 4) else arr[:, 0]
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise InputError(
            f"expected a non-empty batch of images (N, H, W), got shape {arr.shape}", source=source
        )
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
            raise InputError("images must hold finite numbers", source=source)
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return arr


def prepare(images: npt.ArrayLike, size: int) -> FloatArray:
    """Grayscale images resized to ``size`` x ``size``: float32 ``(N, 1, size, size)``, 0..255."""
    batch = as_gray_batch(images)
    if batch.shape[1:] != (size, size):
        batch = np.stack([resize_image(img, size) for img in batch])
    return batch[:, None, :, :].astype(np.float32)


def augment(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    zoom: float,
    jitter: float,
    shift: float = 0.0,
    rotate: bool = True,
    value_range: float = 255.0,
) -> torch.Tensor:
    """Randomly rotated (k * 90 degrees), flipped, zoomed, shifted and jittered copy of ``x``.

    ``rotate=False`` limits the turns to 0 and 180 degrees, so that (with the flips) the
    image axes stay where they are.  ``x`` is a ``(N, C, S, S)`` batch of pixel values
    spanning ``value_range``.  ``zoom`` is the smallest crop side as a fraction of the
    image (1 = no zoom: texture classes are told apart partly by the scale of their
    grain, which zooming would blur); ``shift`` the largest translation as a fraction of
    the side (the border is filled by reflection, natural for a texture); ``jitter`` the
    relative contrast change (around each image's mean) and brightness shift (as a
    fraction of ``value_range``).
    """
    import torch
    import torch.nn.functional as F

    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    k = torch.randint(0, 4, (n,), generator=generator).to(torch.float32)
    if not rotate:
        k = 2.0 * (k % 2)  # 0 or 180 degrees: with the flips, the axes stay where they are
    angle = k * (torch.pi / 2)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    scale = uniform(zoom, 1.0)
    # a crop of side `scale` may move by up to (1 - scale) in normalised [-1, 1] units
    tx = uniform(-1.0, 1.0) * (1.0 - scale + 2.0 * shift)
    ty = uniform(-1.0, 1.0) * (1.0 - scale + 2.0 * shift)
    cos, sin = torch.cos(angle).round(), torch.sin(angle).round()
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale * cos * flip
    theta[:, 0, 1] = -scale * sin
    theta[:, 1, 0] = scale * sin * flip
    theta[:, 1, 1] = scale * cos
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if jitter > 0:
        contrast = uniform(1.0 - jitter, 1.0 + jitter).view(n, 1, 1, 1)
        brightness = uniform(-jitter, jitter).view(n, 1, 1, 1)
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = (out - mean) * contrast + mean + brightness * value_range
    return out
