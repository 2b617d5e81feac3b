"""Image folders in the NEU-DET layout: loading, class from file name, seeded splits.

A dataset directory either holds ``IMAGES/`` (and optionally ``ANNOTATIONS/`` with one
Pascal-VOC XML per image, as NEU-DET ships) or is itself a flat folder of images.  The
class of an image is the longest known class name its file name starts with: splitting
on ``_`` would break ``rolled-in_scale``, and longest-first keeps a class that is the
prefix of another (``scratch`` / ``scratches``) unambiguous.

Images are returned as grayscale ``uint8`` arrays ``(N, H, W)``: NEU stores three
identical channels, and colour carries nothing for these surfaces.  Only numpy and
Pillow are needed here (no torch), so listing and splitting stay light.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

NEU_CLASSES: tuple[str, ...] = (
    "crazing",
    "inclusion",
    "patches",
    "pitted_surface",
    "rolled-in_scale",
    "scratches",
)
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
IMAGES_DIR = "IMAGES"
ANNOTATIONS_DIR = "ANNOTATIONS"

UInt8Array = npt.NDArray[np.uint8]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ImageSet:
    """Images of one directory: pixels, class indices into ``classes``, and file paths."""

    images: UInt8Array  # (N, H, W) grayscale
    labels: IntArray  # (N,) index into classes; -1 where the class is unknown (unlabelled)
    classes: tuple[str, ...]
    paths: tuple[Path, ...]

    def __len__(self) -> int:
        return len(self.paths)


def class_of(name: str, classes: Sequence[str] = NEU_CLASSES) -> str | None:
    """The longest class in ``classes`` that the file name ``name`` starts with, or None."""
    stem = Path(name).name
    best: str | None = None
    for cls in classes:
        if stem.startswith(cls) and (best is None or len(cls) > len(best)):
            best = cls
    return best


def image_dir(root: Path | str) -> Path:
    """``root/IMAGES`` when it exists (NEU-DET layout), else ``root`` itself (flat folder)."""
    path = Path(root)
    if not path.is_dir():
        raise InputError("no such directory", source=str(path))
    nested = path / IMAGES_DIR
    return nested if nested.is_dir() else path


def list_images(root: Path | str) -> list[Path]:
    """Image files of a dataset directory, sorted by name (a stable order for seeds)."""
    folder = image_dir(root)
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise InputError(
            f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in the directory",
            source=str(folder),
        )
    return files


def read_image(path: Path | str) -> UInt8Array:
    """One image as a grayscale ``uint8`` array ``(H, W)``; InputError names a bad file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            gray = img.convert("L")
            return np.asarray(gray, dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise InputError(f"not a readable image ({exc})", source=str(path)) from exc


def load_images(
    root: Path | str,
    classes: Sequence[str] | None = NEU_CLASSES,
    *,
    require_labels: bool = True,
    size: int | None = None,
) -> ImageSet:
    """Read every image of ``root`` (NEU-DET layout or flat) with its class.

    ``classes=None`` reads unlabelled images (labels all -1).  With ``require_labels``
    a file whose name starts with no known class is an InputError naming it; without,
    its label is -1.  Images of different sizes need ``size`` (resized to size x size,
    antialiased); otherwise they must all have the first image's size.
    """
    known = tuple(classes) if classes is not None else ()
    files = list_images(root)
    arrays: list[UInt8Array] = []
    labels: list[int] = []
    for path in files:
        label = -1
        if classes is not None:
            cls = class_of(path.name, known)
            if cls is None:
                if require_labels:
                    raise InputError(
                        f"file name starts with no known class ({', '.join(known)})",
                        source=str(path),
                    )
            else:
                label = known.index(cls)
        img = read_image(path)
        if size is not None and img.shape != (size, size):
            img = resize_image(img, size)
        elif arrays and img.shape != arrays[0].shape:
            raise InputError(
                f"image is {img.shape[1]}x{img.shape[0]}, the others "
                f"{arrays[0].shape[1]}x{arrays[0].shape[0]} (pass a size to resize)",
                source=str(path),
            )
        arrays.append(img)
        labels.append(label)
    return ImageSet(
        images=np.stack(arrays).astype(np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        classes=known,
        paths=tuple(files),
    )


def resize_image(image: UInt8Array, size: int) -> UInt8Array:
    """Antialiased resize of one grayscale image to ``size x size``."""
    from PIL import Image

    resized = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8).copy()


@dataclass(frozen=True)
class SplitDirs:
    train: Path
    test: Path
    n_train: int
    n_test: int


def split_dataset(
    root: Path | str,
    out: Path | str,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    classes: Sequence[str] = NEU_CLASSES,
    copy: bool = False,
) -> SplitDirs:
    """Stratified, seeded split of a NEU-DET directory into ``out/train`` and ``out/test``.

    Each part gets the NEU-DET layout (``IMAGES/`` and, where the source has them,
    ``ANNOTATIONS/``), as symlinks (or copies with ``copy=True``), so both parts can
    be given to any loader of this module.  Per class, ``round(n * test_fraction)``
    images (at least one) go to test, drawn with the seed.
    """
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
    src = Path(root)
    files = list_images(src)
    known = tuple(classes)
    by_class: dict[str, list[Path]] = {c: [] for c in known}
    for path in files:
        cls = class_of(path.name, known)
        if cls is None:
            raise InputError(
                f"file name starts with no known class ({', '.join(known)})", source=str(path)
            )
        by_class[cls].append(path)
    rng = np.random.default_rng(seed)
    test: set[Path] = set()
    for paths in by_class.values():
        if len(paths) < 2:
            continue  # a class with one image stays in train: it cannot be split
        n_test = min(len(paths) - 1, max(1, round(len(paths) * test_fraction)))
        for i in rng.permutation(len(paths))[:n_test]:
            test.add(paths[int(i)])
    dest = Path(out)
    parts = {"train": dest / "train", "test": dest / "test"}
    for part in parts.values():
        if part.exists():
            shutil.rmtree(part)
        (part / IMAGES_DIR).mkdir(parents=True)
    annotations = src / ANNOTATIONS_DIR
    for path in files:
        part = parts["test"] if path in test else parts["train"]
        _place(path, part / IMAGES_DIR / path.name, copy)
        xml = annotations / (path.stem + ".xml")
        if xml.is_file():
            (part / ANNOTATIONS_DIR).mkdir(exist_ok=True)
            _place(xml, part / ANNOTATIONS_DIR / xml.name, copy)
    return SplitDirs(
        train=parts["train"], test=parts["test"], n_train=len(files) - len(test), n_test=len(test)
    )


def _place(src: Path, dst: Path, copy: bool) -> None:
    if copy:
        shutil.copy2(src, dst)
    else:
        os.symlink(src.resolve(), dst)
