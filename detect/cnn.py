"""CNN detectors trained from scratch on face crops (no pretrained weights are reachable).

mesoinception4  MesoInception-4, Afchar et al. 2018, "MesoNet: a compact facial video forgery
                detection network" (about 28 k parameters; trains on a CPU)
efficientnet    timm's EfficientNet-B0, randomly initialised

Training augments every batch, so a detector cannot lean on compression
alone: JPEG recompression (quality 30-95), Gaussian blur, down-and-up
resizing, brightness/contrast jitter and horizontal flips. Scores are logits
(higher = more likely fake). Weights are saved with ``torch.save`` and read
with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from swaplab.detect.base import DETECTORS, check_labels
from swaplab.core.device import resolve_device
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import save_torch_file
from swaplab.core.progress import track


class InceptionLayer(nn.Module):
    """Four branches (1x1; 3x3; 3x3 dilated 2; 3x3 dilated 3), concatenated, batch-normed, pooled."""

    def __init__(self, cin: int, a: int, b: int, c: int, d: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(cin, a, 1)
        self.b2 = nn.Sequential(nn.Conv2d(cin, b, 1), nn.ReLU(), nn.Conv2d(b, b, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(cin, c, 1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=2, dilation=2))
        self.b4 = nn.Sequential(nn.Conv2d(cin, d, 1), nn.ReLU(), nn.Conv2d(d, d, 3, padding=3, dilation=3))
        self.out = nn.Sequential(nn.ReLU(), nn.BatchNorm2d(a + b + c + d), nn.MaxPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1))


class MesoInception4(nn.Module):
    """(N, 3, S, S) in [0, 1] -> (N,) logits; S a multiple of 32."""

    def __init__(self, input_size: int = 256) -> None:
        super().__init__()
        self.features = nn.Sequential(
            InceptionLayer(3, 1, 4, 4, 2), InceptionLayer(11, 2, 4, 4, 2),
            nn.Conv2d(12, 16, 5, padding=2), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 5, padding=2), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(4))
        side = input_size // 32
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(16 * side * side, 16),
                                  nn.LeakyReLU(0.1), nn.Dropout(0.5), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))[:, 0]


class _TimmNet(nn.Module):
    def __init__(self, arch: str) -> None:
        super().__init__()
        import timm

        self.net = timm.create_model(arch, pretrained=False, num_classes=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, 0]


def augment(face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random degradation chain on an RGB uint8 face (S, S, 3)."""
    size = face.shape[0]
    if rng.random() < 0.5:
        ok, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))])
        face = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if ok else face
    if rng.random() < 0.3:
        face = cv2.GaussianBlur(face, (0, 0), float(rng.uniform(0.3, 1.5)))
    if rng.random() < 0.3:
        small = max(8, int(size * rng.uniform(0.4, 0.9)))
        face = cv2.resize(cv2.resize(face, (small, small), interpolation=cv2.INTER_AREA), (size, size))
    if rng.random() < 0.5:
        face = np.clip(face.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        face = face[:, ::-1]
    return np.ascontiguousarray(face)


def to_tensor(faces: np.ndarray) -> torch.Tensor:
    """(N, S, S, 3) uint8 -> (N, 3, S, S) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(faces)).permute(0, 3, 1, 2).float().div(255)


@torch.no_grad()
def recalibrate_batch_norm(net: nn.Module, faces: np.ndarray, batch: int = 64) -> nn.Module:
    """Re-estimate batch-norm statistics as exact averages over the (un-augmented) training faces.

    Short trainings leave the running averages far from the final weights'
    statistics; scoring in eval mode then collapses. Weights do not change.
    """
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return net
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    net.train()
    device = next(net.parameters()).device
    for start in range(0, len(faces), batch):
        net(to_tensor(faces[start:start + batch]).to(device))
    for norm in norms:
        norm.momentum = 0.1
    return net


class CNNDetector:
    """Shared training and scoring for the CNN detectors."""

    name = "cnn"

    def __init__(self, *, input_size: int = 128, epochs: int = 8, batch_size: int = 32, learning_rate: float = 1e-3,
                 seed: int = 0, device: str = "auto") -> None:
        self.input_size, self.epochs, self.batch_size = input_size, epochs, batch_size
        self.learning_rate, self.seed, self.device = learning_rate, seed, device
        self.net_: nn.Module | None = None

    def settings(self) -> dict:
        return {"input_size": self.input_size, "epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "seed": self.seed}

    def build(self) -> nn.Module:
        raise NotImplementedError

    def _resize(self, faces: np.ndarray) -> np.ndarray:
        """Faces (N, S, S, 3) uint8 at the network's input size."""
        size = (self.input_size, self.input_size)
        return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in faces])

    def fit(self, faces: np.ndarray, labels: np.ndarray) -> CNNDetector:
        labels = check_labels(labels)
        torch.manual_seed(self.seed)
        device = resolve_device(self.device)
        net = self.build().to(device)
        optimiser = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        rng = np.random.default_rng(self.seed)
        resized = self._resize(faces)
        target = torch.tensor(labels, dtype=torch.float32)
        loss_fn = nn.BCEWithLogitsLoss()
        net.train()
        for _ in track(range(self.epochs), f"train {self.name}", total=self.epochs):
            for batch in np.array_split(rng.permutation(len(resized)), max(1, len(resized) // self.batch_size)):
                x = to_tensor(np.stack([augment(resized[i], rng) for i in batch]))
                loss = loss_fn(net(x.to(device)), target[batch].to(device))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
        self.net_ = recalibrate_batch_norm(net, resized).eval().cpu()
        return self

    @torch.inference_mode()
    def score(self, faces: np.ndarray) -> np.ndarray:
        if self.net_ is None:
            raise SwaplabError(f"{self.name} detector is not fitted")
        out = [self.net_(to_tensor(self._resize(faces[i:i + 64]))).numpy() for i in range(0, len(faces), 64)]
        return np.concatenate(out).astype(np.float64)

    def save_state(self, folder: Path) -> None:
        save_torch_file(self.net_.state_dict(), folder / "weights.pt")

    def load_state(self, folder: Path) -> None:
        net = self.build()
        net.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu", weights_only=True))
        self.net_ = net.eval()


class MesoInceptionDetector(CNNDetector):
    name = "mesoinception4"

    def build(self) -> nn.Module:
        if self.input_size % 32:
            raise SwaplabError(f"MesoInception-4 needs an input size that is a multiple of 32, not {self.input_size}")
        return MesoInception4(self.input_size)


class EfficientNetDetector(CNNDetector):
    name = "efficientnet"

    def build(self) -> nn.Module:
        return _TimmNet("efficientnet_b0")


@DETECTORS.register("mesoinception4")
def mesoinception4(**settings: object) -> MesoInceptionDetector:
    return MesoInceptionDetector(**settings)


@DETECTORS.register("efficientnet")
def efficientnet(**settings: object) -> EfficientNetDetector:
    return EfficientNetDetector(**settings)
