"""Pick the torch device: CUDA when present, CPU otherwise."""

from __future__ import annotations

import torch

from swaplab.errors import SwaplabError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` if available else ``cpu``; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SwaplabError("--device cuda asked for, but torch sees no CUDA GPU")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise SwaplabError(f"unknown device {name!r}; use auto, cpu or cuda[:N]")
    return torch.device(name)
