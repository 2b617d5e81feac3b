"""The sequence network of the RUL models: a dilated 1-D CNN over a window of cycles.

Only the maths lives here; training is in :mod:`shopfloor.maintenance.rul.training`.
"""

from __future__ import annotations

import torch
from torch import nn


class RulConvNet(nn.Module):
    """Dilated 1-D convolutions over (batch, window, channels) -> RUL / cap, one per window.

    Three convolutions with dilations 1, 2, 4 see about 25 steps back; the head reads
    the mean over the window, the last step's convolved state and the last raw
    reading, so both trend and current level reach the output.
    """

    def __init__(
        self, n_channels: int, *, hidden: int = 32, kernel: int = 5, dropout: float = 0.2
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_channels
        for dilation in (1, 2, 4):
            layers += [
                nn.Conv1d(
                    width, hidden, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation
                ),
                nn.ReLU(),
            ]
            width = hidden
        self.convolutions = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(2 * hidden + n_channels, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        states = self.convolutions(windows.transpose(1, 2))  # (batch, hidden, window)
        summary = torch.cat([states.mean(dim=2), states[:, :, -1], windows[:, -1, :]], dim=1)
        out: torch.Tensor = self.head(summary)
        return out.squeeze(1)
