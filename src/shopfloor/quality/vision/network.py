"""The defect classification network, kept apart from its trainer (DESIGN section 6).

A compact residual CNN for grayscale surface images.  Why this shape:

- one input channel: NEU-style images are grayscale; three identical channels would
  only triple the first layer's work;
- a stride-2 stem and four stride-2 residual stages take a 128 px image to 4x4 before
  global average pooling, so the receptive field covers the whole texture while the
  compute stays around 0.1 GFLOP per image (fast to train from scratch on two CPU
  cores and well above 300 images/s in onnxruntime);
- batch norm everywhere, because it lets a from-scratch network train with a large
  one-cycle learning rate in few epochs; dropout before the head because the datasets
  are small (a few hundred images per class).

Only torch is needed; this module is imported lazily by the vision package.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from shopfloor.errors import InputError, ModelError


def _conv_bn(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class DefectNet(nn.Module):
    """Residual CNN: stem, one residual block per stage, global pooling, linear head.

    ``features(x)`` returns the last convolutional map (what Grad-CAM looks at);
    ``forward(x)`` returns class logits.  Input: ``(N, in_channels, H, W)`` float,
    already normalised.  ``widths``: stem channels, then one entry per stride-2 stage
    (the trainer's default is the measured configuration).
    """

    def __init__(
        self,
        n_classes: int,
        *,
        in_channels: int = 1,
        widths: tuple[int, ...],
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if n_classes < 2:
            raise ModelError(f"DefectNet needs at least 2 classes, got {n_classes}")
        if len(widths) < 2:
            raise ModelError("DefectNet needs a stem width and at least one stage width")
        self.n_classes = n_classes
        self.in_channels = in_channels
        self.widths = tuple(widths)
        self.stem = _conv_bn(in_channels, widths[0], stride=2)
        self.stages = nn.Sequential(
            *(ResidualBlock(widths[i], widths[i + 1], stride=2) for i in range(len(widths) - 1))
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        # Zero the last BN of each residual branch: every block starts as (almost) the
        # identity, which makes from-scratch training stable at a high learning rate.
        for module in self.modules():
            if isinstance(module, ResidualBlock):
                nn.init.zeros_(module.bn2.weight)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))  # type: ignore[no-any-return]

    def classify(self, feature_map: torch.Tensor) -> torch.Tensor:
        pooled = torch.flatten(self.pool(feature_map), 1)
        return self.head(self.dropout(pooled))  # type: ignore[no-any-return]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))


def load_weights(model: nn.Module, path: Path | str) -> nn.Module:
    """Load a state-dict file (``torch.save(model.state_dict(), path)``) into ``model``.

    ``weights_only=True``: a weights file is data, never code to unpickle.  A file made
    for another number of classes keeps everything but the head (fine-tuning).
    """
    source = str(path)
    if not Path(path).is_file():
        raise InputError("no such weights file", source=source)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise InputError(f"not a readable torch state-dict file ({exc})", source=source) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError("the file does not hold a state dict", source=source)
    own = model.state_dict()
    unknown = sorted(k for k in state if k not in own)
    missing = sorted(k for k in own if k not in state)
    if unknown or missing:
        raise InputError(
            f"weights do not fit the network (unknown: {unknown[:3]}, missing: {missing[:3]})",
            source=source,
        )
    usable = {}
    for key, value in state.items():
        if tuple(value.shape) == tuple(own[key].shape):
            usable[key] = value
        elif not key.startswith("head."):
            raise InputError(
                f"weights do not fit the network: '{key}' has shape {tuple(value.shape)}, "
                f"expected {tuple(own[key].shape)}",
                source=source,
            )
    model.load_state_dict(usable, strict=False)
    return model
