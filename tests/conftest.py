"""Shared fixtures: a tiny embedded sample, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from swaplab.datasets import sample

torch.set_num_threads(2)

TINY_SECONDS = 2.0


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded sample with one 2-second clip per identity."""
    out = tmp_path_factory.mktemp("sample")
    return sample.run(sample.SampleConfig(out=out, clips=1, seconds=TINY_SECONDS))


@pytest.fixture(scope="session")
def astronaut_clip(sample_dir: Path) -> Path:
    return sample_dir / "astronaut" / "astronaut_00.mp4"


@pytest.fixture(scope="session")
def hopper_clip(sample_dir: Path) -> Path:
    return sample_dir / "grace_hopper" / "grace_hopper_00.mp4"
