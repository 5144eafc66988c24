"""Training losses: structural dissimilarity (DSSIM), masked MSE, mask loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _gaussian_window(size: int, sigma: float, channels: int) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    return (kernel[:, None] * kernel[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of images in [0, 1], (N, C, H, W) -> (N,) (Wang et al. 2004, Gaussian window)."""
    channels = a.shape[1]
    kernel = _gaussian_window(window, sigma, channels).to(a)
    blur = lambda x: F.conv2d(x, kernel, groups=channels)  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return value.mean(dim=(1, 2, 3))


def dssim(a: torch.Tensor, b: torch.Tensor, window: int) -> torch.Tensor:
    """Structural dissimilarity (1 - SSIM) / 2, averaged over the batch."""
    return ((1 - ssim(a, b, window, sigma=window / 7)) / 2).mean()


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                        focus: torch.Tensor, focus_weight: float) -> torch.Tensor:
    """10 * DSSIM + 10 * MSE on the face inside ``mask``, plus ``focus_weight`` x MSE on eyes/mouth."""
    window = max(3, int(pred.shape[-1] / 11.6) | 1)
    masked_pred, masked_target = pred * mask, target * mask
    loss = 10 * dssim(masked_pred, masked_target, window) + 10 * F.mse_loss(masked_pred, masked_target)
    if focus_weight:
        loss = loss + focus_weight * torch.mean(focus * (pred - target) ** 2)
    return loss


def mask_loss(pred_mask: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """10 * MSE between predicted and target masks."""
    return 10 * F.mse_loss(pred_mask, target_mask)
