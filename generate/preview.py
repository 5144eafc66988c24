"""The training preview grid: src, src->src, dst, dst->dst, dst->src (DeepFaceLab's columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from swaplab.generate.faceset import FaceSet
from swaplab.generate.models import SwapModel
from swaplab.core.images import write_image


def to_image(batch: torch.Tensor) -> np.ndarray:
    """(N, 3, R, R) float in [0, 1] -> (N, R, R, 3) uint8."""
    return (batch.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)


@torch.inference_mode()
def preview_grid(model: SwapModel, src: FaceSet, dst: FaceSet, rows: int = 4) -> np.ndarray:
    """(rows * R, 5 * R, 3) uint8 grid of src, src->src, dst, dst->dst, dst->src."""
    model.eval()
    device = next(model.parameters()).device
    pick = lambda s: s.faces[np.linspace(0, len(s.faces) - 1, rows).round().astype(int)].float().div(255).to(device)  # noqa: E731
    src_faces, dst_faces = pick(src), pick(dst)
    columns = [src_faces, model.reconstruct(src_faces, "src")[0], dst_faces,
               model.reconstruct(dst_faces, "dst")[0], model.swap(dst_faces, "src")[0]]
    return np.concatenate([np.concatenate(list(to_image(c)), axis=0) for c in columns], axis=1)


def write_preview(model: SwapModel, src: FaceSet, dst: FaceSet, target: Path) -> Path:
    write_image(target, preview_grid(model, src, dst))
    return target
