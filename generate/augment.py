"""Training augmentation on tensors: random warp, random affine, colour and lighting jitter.

As in DeepFaceLab: the network sees a randomly *warped* face and must
produce the *unwarped* one, which forces it to learn faces rather than
copy pixels. Both share one random affine (rotation, scale, shift, flip).
Every draw comes from the given ``torch.Generator``, so training resumes
exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def random_affine(n: int, gen: torch.Generator, rotate_deg: float = 10, scale: float = 0.05,
                  shift: float = 0.05, flip: bool = True) -> torch.Tensor:
    """(n, 2, 3) affine matrices in normalised [-1, 1] coordinates."""
    angle = _uniform(n, -rotate_deg, rotate_deg, gen) * math.pi / 180
    zoom = 1 + _uniform(n, -scale, scale, gen)
    sign = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    tx, ty = _uniform(n, -shift, shift, gen) * 2, _uniform(n, -shift, shift, gen) * 2
    return torch.stack([torch.stack([cos * sign, -sin, tx], 1), torch.stack([sin * sign, cos, ty], 1)], 1)


WARP_CELLS = (3, 5, 9)  # DeepFaceLab: cell size = R/2, R/4 or R/8, one drawn per image
WARP_STD = 0.24  # DeepFaceLab: each inner grid point moves by N(0, (0.24 * cell size)^2) px


def random_warp_field(n: int, size: int, gen: torch.Generator, cells: tuple[int, ...] = WARP_CELLS,
                      strength: float = WARP_STD) -> torch.Tensor:
    """(n, size, size, 2) smooth random displacement in normalised units, zero on the border.

    DeepFaceLab's ``gen_warp_params`` grid warp: per image a grid of ``c x c`` points
    (``c`` drawn from ``cells``; cell size ``size / (c - 1)``) whose inner points move by
    ``N(0, strength * cell size)`` pixels, interpolated bilinearly over the image (mean displacement
    1.82 px at 64 px, DeepFaceLab's own 1.87 px; the warp used before moved 1.30 px).
    """
    pick = torch.randint(len(cells), (n,), generator=gen)
    fields = torch.empty(n, 2, size, size)
    for i in range(n):
        count = cells[int(pick[i])]
        cell = 2.0 / (count - 1)  # cell size in normalised units (the image spans 2)
        coarse = torch.randn(1, 2, count, count, generator=gen) * strength * cell
        coarse[:, :, 0, :] = coarse[:, :, -1, :] = coarse[:, :, :, 0] = coarse[:, :, :, -1] = 0
        fields[i] = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=True)[0]
    return fields.permute(0, 2, 3, 1)


def mean_displacement_px(field: torch.Tensor) -> float:
    """Mean length in pixels of a (n, size, size, 2) normalised displacement field."""
    return float(field.norm(dim=-1).mean() * field.shape[1] / 2)


def warp_pair(images: torch.Tensor, gen: torch.Generator, extra: torch.Tensor | None = None,
              flip: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(warped input, target, extra target) for images (N, C, R, R) float in [0, 1].

    ``extra`` (N, K, R, R), e.g. masks and weights, follows the target's affine; ``flip``: mirror
    half of the images at random (off where the caller has chosen which to mirror).
    """
    n, _, size, _ = images.shape
    grid = F.affine_grid(random_affine(n, gen, flip=flip), list(images.shape), align_corners=False)
    target = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    warped = F.grid_sample(images, grid + random_warp_field(n, size, gen), mode="bilinear",
                           padding_mode="border", align_corners=False)
    moved = None
    if extra is not None:
        moved = F.grid_sample(extra, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped, target, moved


def colour_jitter(images: torch.Tensor, gen: torch.Generator, strength: float = 0.1) -> torch.Tensor:
    """Per-image brightness, contrast and per-channel gain; (N, 3, R, R) in [0, 1]."""
    n = images.shape[0]
    brightness = _uniform(n, -strength, strength, gen).view(n, 1, 1, 1)
    contrast = (1 + _uniform(n, -strength, strength, gen)).view(n, 1, 1, 1)
    gain = 1 + (torch.rand(n, 3, 1, 1, generator=gen) * 2 - 1) * strength / 2
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return ((images - mean) * contrast + mean + brightness).mul(gain).clamp(0, 1)


def match_colour_stats(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Give each image the per-channel mean and std of a reference image (RCT in RGB), batch-wise."""
    mean, std = images.mean(dim=(2, 3), keepdim=True), images.std(dim=(2, 3), keepdim=True) + 1e-6
    ref_mean, ref_std = reference.mean(dim=(2, 3), keepdim=True), reference.std(dim=(2, 3), keepdim=True)
    return ((images - mean) / std * ref_std + ref_mean).clamp(0, 1)
