"""Pick the torch device: CUDA when present, CPU otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from swaplab.core.errors import SwaplabError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` if available else ``cpu``; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SwaplabError("--device cuda asked for, but torch sees no CUDA GPU")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise SwaplabError(f"unknown device {name!r}; use auto, cpu or cuda[:N]")
    return torch.device(name)


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bf16 autocast has hardware support here (CUDA bf16, or CPU AVX512-BF16 / AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` where the hardware supports it, else ``fp32``."""
    if name == "auto":
        return "bf16" if bf16_is_fast(device) else "fp32"
    if name not in ("fp32", "bf16"):
        raise SwaplabError(f"precision {name!r}: choose auto, fp32 or bf16")
    return name


@contextmanager
def intra_op_threads(threads: int) -> Iterator[None]:
    """Run torch's CPU ops on ``threads`` (at least 1) intra-op threads inside the block, then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
