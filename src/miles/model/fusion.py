"""The fusion MLP (the seed's architecture done right): per-modality towers -> shared trunk -> two heads.

Modalities: ``text`` (title-embedding components), ``thumb`` (image statistics), ``tab`` (metadata and channel
context), ``early`` (early-view features). Each tower sees its inputs with NaN replaced by 0 *and* a
per-feature missing mask, and its output is multiplied by the modality mask (1 when any input of the
modality is present), so a missing thumbnail or missing early views are explicit, never a silent zero.
Heads: a viral logit and log-views quantiles (p10/p50/p90, pinball loss). Weights are saved as safetensors,
the config as JSON beside them (STYLE.md habit 8). Torch is imported only here and only for training/export.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from safetensors.torch import load_file, save_file
from torch import nn

MODALITIES = ("text", "thumb", "tab", "early")


@dataclass
class FusionConfig:
    inputs: dict[str, int] = field(default_factory=dict)  # modality -> number of input features
    tower_dim: int = 32
    trunk_dim: int = 64
    dropout: float = 0.1
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    lr: float = 3e-3
    weight_decay: float = 1e-4
    epochs: int = 30
    batch_size: int = 256
    viral_weight: float = 1.0
    seed: int = 7


class Tower(nn.Module):
    def __init__(self, n_in: int, dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * n_in, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        missing = torch.isnan(x)
        out: torch.Tensor = self.net(torch.cat([torch.nan_to_num(x, nan=0.0), missing.float()], dim=1))
        present = (~missing).any(dim=1, keepdim=True).float()  # the modality mask
        return out * present


class FusionModel(nn.Module):
    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        self.names = [m for m in MODALITIES if config.inputs.get(m, 0) > 0]
        self.towers = nn.ModuleDict({m: Tower(config.inputs[m], config.tower_dim, config.dropout) for m in self.names})
        width = len(self.names) * (config.tower_dim + 1)
        self.trunk = nn.Sequential(
            nn.Linear(width, config.trunk_dim),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.trunk_dim, config.trunk_dim),
            nn.GELU(),
        )
        self.viral_head = nn.Linear(config.trunk_dim, 1)
        self.quantile_head = nn.Linear(config.trunk_dim, len(config.quantiles))

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = []
        for name in self.names:
            x = batch[name]
            parts += [self.towers[name](x), (~torch.isnan(x)).any(dim=1, keepdim=True).float()]
        h = self.trunk(torch.cat(parts, dim=1))
        base = self.quantile_head(h)
        # Non-crossing quantiles: the centre plus cumulative softplus gaps on each side.
        mid = len(self.config.quantiles) // 2
        centre = base[:, mid : mid + 1]
        lower = centre - torch.cumsum(nn.functional.softplus(base[:, :mid]).flip(1), dim=1).flip(1)
        upper = centre + torch.cumsum(nn.functional.softplus(base[:, mid + 1 :]), dim=1)
        return self.viral_head(h).squeeze(1), torch.cat([lower, centre, upper], dim=1)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(directory / "fusion.safetensors"))
        (directory / "fusion.json").write_text(json.dumps(asdict(self.config), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> FusionModel:
        raw = json.loads((directory / "fusion.json").read_text(encoding="utf-8"))
        model = cls(FusionConfig(**{**raw, "quantiles": tuple(raw["quantiles"])}))
        model.load_state_dict(load_file(str(directory / "fusion.safetensors")))
        return model.eval()

    @torch.no_grad()
    def predict(self, arrays: dict[str, NDArray[np.float32]]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(P(viral) uncalibrated, log-views quantiles) for numpy inputs."""
        self.eval()
        logit, q = self(_tensors(arrays, self.names))
        return torch.sigmoid(logit).double().numpy(), q.double().numpy()


def _tensors(arrays: dict[str, NDArray[np.float32]], names: list[str]) -> dict[str, torch.Tensor]:
    return {m: torch.as_tensor(np.asarray(arrays[m], dtype=np.float32)) for m in names}


def pinball(q_pred: torch.Tensor, y: torch.Tensor, quantiles: tuple[float, ...]) -> torch.Tensor:
    taus = torch.tensor(quantiles, dtype=q_pred.dtype)
    diff = y[:, None] - q_pred
    return torch.maximum(taus * diff, (taus - 1) * diff).mean()


def train_fusion(
    config: FusionConfig,
    arrays: dict[str, NDArray[np.float32]],
    log_views: NDArray[np.float64],
    viral: NDArray[np.float64],
    *,
    valid: tuple[dict[str, NDArray[np.float32]], NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> tuple[FusionModel, list[float]]:
    """Adam on pinball + BCE; with ``valid``, the epoch with the lowest validation loss is kept."""
    torch.manual_seed(config.seed)
    model = FusionModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    data = _tensors(arrays, model.names)
    y, v = torch.as_tensor(log_views, dtype=torch.float32), torch.as_tensor(viral, dtype=torch.float32)
    n, history = len(y), []
    best: tuple[float, dict[str, torch.Tensor] | None] = (float("inf"), None)
    gen = torch.Generator().manual_seed(config.seed)
    for _ in range(config.epochs):
        model.train()
        for idx in torch.split(torch.randperm(n, generator=gen), config.batch_size):
            logit, q = model({m: t[idx] for m, t in data.items()})
            loss = pinball(
                q, y[idx], config.quantiles
            ) + config.viral_weight * nn.functional.binary_cross_entropy_with_logits(logit, v[idx])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
        if valid is None:
            history.append(_loss(model, data, y, v))
        else:
            vx, vy, vv = valid
            f32 = torch.float32
            history.append(
                _loss(model, _tensors(vx, model.names), torch.as_tensor(vy, dtype=f32), torch.as_tensor(vv, dtype=f32))
            )
        if history[-1] < best[0]:
            best = (history[-1], {k: t.clone() for k, t in model.state_dict().items()})
    if best[1] is not None:
        model.load_state_dict(best[1])
    return model.eval(), history


@torch.no_grad()
def _loss(model: FusionModel, data: dict[str, torch.Tensor], y: torch.Tensor, v: torch.Tensor) -> float:
    model.eval()
    logit, q = model(data)
    bce = nn.functional.binary_cross_entropy_with_logits(logit, v)
    return float(pinball(q, y, model.config.quantiles) + model.config.viral_weight * bce)
