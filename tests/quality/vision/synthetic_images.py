"""Tiny synthetic surface images with planted defects (no committed data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

U8 = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]


def texture(rng: np.random.Generator, size: int) -> npt.NDArray[np.float64]:
    """Grainy steel-like background: box-blurred noise around mid grey."""
    noise = rng.normal(0.0, 1.0, (size + 4, size + 4))
    kernel = np.ones(5) / 5
    blurred = np.apply_along_axis(lambda r: np.convolve(r, kernel, "valid"), 1, noise)
    blurred = np.apply_along_axis(lambda c: np.convolve(c, kernel, "valid"), 0, blurred)
    return 128.0 + 25.0 * blurred / blurred.std() + rng.normal(0.0, 4.0, (size, size))


def blob(rng: np.random.Generator, size: int) -> tuple[U8, Mask]:
    """A dark round stain at a random place; returns the image and the stain's mask."""
    img = texture(rng, size)
    r = size * rng.uniform(0.10, 0.16)
    cy, cx = rng.uniform(r, size - r, 2)
    yy, xx = np.mgrid[:size, :size]
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    img[mask] -= 80.0
    return np.clip(img, 0, 255).astype(np.uint8), mask


def scratch(rng: np.random.Generator, size: int) -> tuple[U8, Mask]:
    """A bright straight line (horizontal or vertical) at a random offset."""
    img = texture(rng, size)
    mask = np.zeros((size, size), dtype=bool)
    pos = int(rng.integers(size // 6, size - size // 6))
    width = max(2, size // 24)
    if rng.random() < 0.5:
        mask[pos : pos + width, size // 8 : size - size // 8] = True
    else:
        mask[size // 8 : size - size // 8, pos : pos + width] = True
    img[mask] += 90.0
    return np.clip(img, 0, 255).astype(np.uint8), mask


def clean(rng: np.random.Generator, size: int) -> tuple[U8, Mask]:
    return np.clip(texture(rng, size), 0, 255).astype(np.uint8), np.zeros((size, size), bool)


KINDS = {"clean": clean, "blob": blob, "scratch": scratch}


def dataset(
    n_per_class: int, size: int, seed: int, kinds: tuple[str, ...] = ("clean", "blob", "scratch")
) -> tuple[U8, npt.NDArray[np.int64], Mask]:
    """Images, label indices into ``kinds`` and defect masks, classes interleaved."""
    rng = np.random.default_rng(seed)
    images, labels, masks = [], [], []
    for _ in range(n_per_class):
        for label, kind in enumerate(kinds):
            img, mask = KINDS[kind](rng, size)
            images.append(img)
            labels.append(label)
            masks.append(mask)
    return np.stack(images), np.asarray(labels, dtype=np.int64), np.stack(masks)


def write_neu_dir(
    root: Path, classes: tuple[str, ...], n_per_class: int, size: int, seed: int
) -> Path:
    """A NEU-DET-layout directory: IMAGES/<class>_<n>.jpg plus one XML per image.

    Class k gets a pattern distinct enough to learn in a few epochs: the first three
    synthetic kinds, the rest brightness-shifted copies of them.
    """
    rng = np.random.default_rng(seed)
    (root / "IMAGES").mkdir(parents=True, exist_ok=True)
    (root / "ANNOTATIONS").mkdir(parents=True, exist_ok=True)
    kinds = list(KINDS.values())
    for k, cls in enumerate(classes):
        for n in range(1, n_per_class + 1):
            img, _ = kinds[k % 3](rng, size)
            if k >= 3:
                img = np.clip(img.astype(np.int16) - 60, 0, 255).astype(np.uint8)
            Image.fromarray(img).convert("RGB").save(root / "IMAGES" / f"{cls}_{n}.jpg")
            (root / "ANNOTATIONS" / f"{cls}_{n}.xml").write_text(
                f"<annotation><filename>{cls}_{n}.jpg</filename></annotation>"
            )
    return root
