"""Unsupervised surface inspection learnt from good images only.

Why a convolutional autoencoder: defect labels are rare on a real line, good images are
plentiful.  The autoencoder learns to reconstruct good surfaces through a narrow
bottleneck (16x compression), so what it has not seen -- a scratch, a pit, a patch --
comes back wrong.  The squared reconstruction error, smoothed over a small window
(single noisy pixels are not defects), is the per-pixel anomaly map; its maximum is the
image's anomaly score.  No pretrained backbone is needed (none can be downloaded on the
edge box), and the whole scoring path is plain convolutions, so it exports to ONNX.

The alarm threshold is a quantile of the scores of good images the network did *not*
train on (a held-out fifth of them): scores of training images are optimistic and would
make a threshold that raises false alarms on every new good image.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError, ModelError
from shopfloor.estimators import Estimator
from shopfloor.quality.vision.classifier import EpochProgress, _threads
from shopfloor.quality.vision.preprocess import as_gray_batch, prepare

if TYPE_CHECKING:
    import torch
    from torch import nn

MIN_HELD_OUT = 5


@dataclass(frozen=True)
class AnomalyMaps:
    """Image scores, per-pixel maps (at the image size) and the verdict against the threshold."""

    scores: npt.NDArray[np.float64]  # (N,)
    maps: npt.NDArray[np.float32]  # (N, H, W), same units as scores
    threshold: float
    is_anomalous: npt.NDArray[np.bool_]  # scores > threshold


def build_autoencoder(widths: tuple[int, ...], latent: int) -> nn.Module:
    """Encoder of stride-2 conv blocks to a ``latent``-channel code, mirrored decoder.

    Upsample + conv instead of transposed convolutions: no checkerboard artefacts, which
    would otherwise show up as a periodic pattern in every anomaly map.
    """
    from torch import nn

    def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
        return [
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.1, inplace=True),
        ]

    enc: list[nn.Module] = []
    c = 1
    for w in widths:
        enc += block(c, w, 2)
        c = w
    enc.append(nn.Conv2d(c, latent, 1))
    dec: list[nn.Module] = [nn.Conv2d(latent, c, 1)]
    for w in reversed((1, *widths[:-1])):
        dec.append(nn.Upsample(scale_factor=2, mode="nearest"))
        if w == 1:
            dec.append(nn.Conv2d(c, 1, 3, padding=1))
        else:
            dec += block(c, w, 1)
        c = w
    return nn.Sequential(nn.Sequential(*enc), nn.Sequential(*dec))


class ScoringModule:
    """Builds the module that maps 0..255 pixels to (score, map): what ONNX exports."""

    @staticmethod
    def build(autoencoder: nn.Module, mean: float, std: float, smooth: int) -> nn.Module:
        import torch.nn.functional as F
        from torch import nn

        class _Score(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.autoencoder = autoencoder
                # plain floats: they become constants of the ONNX graph
                self.mean = float(mean)
                self.std = float(std)

            def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                z = (x - self.mean) / self.std
                err = (self.autoencoder(z) - z) ** 2
                err = F.avg_pool2d(
                    err, smooth, stride=1, padding=smooth // 2, count_include_pad=False
                )
                return err.flatten(1).amax(dim=1), err[:, 0]

        return _Score()


class AutoencoderAnomalyDetector(Estimator):
    """Learns good surfaces; scores how far new images are from them.

    ``quantile``: of held-out good-image scores, where the alarm threshold sits.
    """

    def __init__(
        self,
        *,
        image_size: int = 128,
        widths: tuple[int, ...] = (16, 32, 64, 64),
        latent: int = 16,
        epochs: int = 30,
        batch_size: int = 16,
        learning_rate: float = 2e-3,
        smooth: int = 7,
        quantile: float = 0.99,
        num_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.image_size = image_size
        self.widths = widths
        self.latent = latent
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.smooth = smooth
        self.quantile = quantile
        self.num_threads = num_threads
        self.seed = seed

    def fit(
        self,
        images: npt.ArrayLike,
        *,
        progress: Callable[[EpochProgress], None] | None = None,
    ) -> Self:
        """Train on good images only (``(N, H, W)`` uint8)."""
        import torch

        if self.image_size % (2 ** len(self.widths)) != 0:
            raise ModelError(
                f"image_size must be a multiple of {2 ** len(self.widths)}, got {self.image_size}"
            )
        if not 0.0 < self.quantile <= 1.0:
            raise ModelError(f"quantile must be in (0, 1], got {self.quantile}")
        if self.smooth < 1 or self.smooth % 2 == 0:
            raise ModelError(f"smooth must be a positive odd window, got {self.smooth}")
        x_np = prepare(images, self.image_size)
        n = x_np.shape[0]
        if n < 2:
            raise InputError("the unsupervised model needs at least 2 good images")
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(n)
        n_held = n // 5 if n // 5 >= MIN_HELD_OUT else 0
        held, train = order[:n_held], order[n_held:]
        mean = float(x_np[train].mean())
        std = float(x_np[train].std()) or 1.0
        with _threads(self.num_threads), torch.random.fork_rng():
            torch.manual_seed(self.seed)
            ae = build_autoencoder(tuple(self.widths), self.latent)
            scorer = ScoringModule.build(ae, mean, std, self.smooth)
            self._train(ae, torch.from_numpy(x_np[train]), mean, std, progress)
            scorer.eval()
            calibration = x_np[held] if n_held else x_np[train]
            with torch.inference_mode():
                scores = scorer(torch.from_numpy(calibration))[0].numpy()
        self.mean_ = mean
        self.std_ = std
        self.autoencoder_ = ae
        self.scorer_ = scorer
        self.threshold_ = float(np.quantile(scores.astype(np.float64), self.quantile))
        self.calibration_scores_ = scores.astype(np.float64)
        return self

    def _train(
        self,
        ae: nn.Module,
        x: torch.Tensor,
        mean: float,
        std: float,
        progress: Callable[[EpochProgress], None] | None,
    ) -> None:
        import torch

        from shopfloor.quality.vision.preprocess import augment

        gen = torch.Generator().manual_seed(self.seed + 1)
        n = x.shape[0]
        batch = max(2, min(self.batch_size, n))
        steps = max(1, n // batch)
        optimiser = torch.optim.AdamW(ae.parameters(), lr=self.learning_rate, weight_decay=1e-4)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=self.learning_rate, total_steps=max(10, steps * self.epochs)
        )
        ae.train()
        started = time.perf_counter()
        for epoch in range(self.epochs):
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for step in range(steps):
                idx = order[step * batch : (step + 1) * batch]
                # orientation and small zoom only: brightness changes of good images are
                # left to the normalisation, so a dark stain still reconstructs badly
                xb = augment(x[idx], gen, zoom=0.9, jitter=0.0)
                z = (xb - mean) / std
                loss = ((ae(z) - z) ** 2).mean()
                optimiser.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(idx)
            if progress is not None:
                progress(
                    EpochProgress(
                        epoch=epoch + 1,
                        epochs=self.epochs,
                        loss=total / max(1, steps * batch),
                        train_accuracy=float("nan"),
                        seconds=time.perf_counter() - started,
                    )
                )

    def score(self, images: npt.ArrayLike, *, batch_size: int = 64) -> AnomalyMaps:
        """Anomaly score and map per image; maps are resized back to each image's size."""
        import torch
        import torch.nn.functional as F

        self._check_fitted()
        gray = as_gray_batch(images)
        x = prepare(gray, self.image_size)
        scores, maps = [], []
        with _threads(self.num_threads), torch.inference_mode():
            for start in range(0, x.shape[0], batch_size):
                s, m = self.scorer_(torch.from_numpy(x[start : start + batch_size]))
                m = F.interpolate(m[:, None], size=gray.shape[1:], mode="bilinear")[:, 0]
                scores.append(s.numpy().astype(np.float64))
                maps.append(m.numpy().astype(np.float32))
        s_all = np.concatenate(scores)
        return AnomalyMaps(
            scores=s_all,
            maps=np.concatenate(maps),
            threshold=self.threshold_,
            is_anomalous=s_all > self.threshold_,
        )
