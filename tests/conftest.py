"""Shared fixtures, made once per test session: a tiny embedded sample, its faces, a tiny swap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from swaplab.datasets import sample
from swaplab.datasets.manifest import FaceRecord

torch.set_num_threads(2)

TINY_SECONDS = 2.0


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded sample with two 2-second clips per identity."""
    out = tmp_path_factory.mktemp("sample")
    return sample.run(sample.SampleConfig(out=out, clips=2, seconds=TINY_SECONDS))


@pytest.fixture(scope="session")
def astronaut_clip(sample_dir: Path) -> Path:
    return sample_dir / "astronaut" / "astronaut_00.mp4"


@pytest.fixture(scope="session")
def hopper_clip(sample_dir: Path) -> Path:
    return sample_dir / "grace_hopper" / "grace_hopper_00.mp4"


@pytest.fixture(scope="session")
def sample_faces(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """identity -> face manifest of both its clips (whole_face, 256 px)."""
    from swaplab.faces.extract import ExtractConfig, run

    out = tmp_path_factory.mktemp("faces")
    return {name: run(ExtractConfig(inputs=tuple(sorted((sample_dir / name).glob("*.mp4"))), out=out / name,
                                    identity=name))
            for name in ("astronaut", "grace_hopper")}


def _tiny_run_config(sample_dir: Path, out: Path):
    """The `generate run` settings of :func:`tiny_swap`: a tiny model, astronaut's face into grace_hopper_01."""
    from swaplab.generate.pipeline import PipelineConfig

    return PipelineConfig(src=sample_dir / "astronaut" / "astronaut_00.mp4",
                          dst=sample_dir / "grace_hopper" / "grace_hopper_01.mp4", out=out, preset="tiny",
                          iterations=4, src_identity="astronaut", dst_identity="grace_hopper", watermark=True)


@pytest.fixture(scope="session")
def tiny_swap(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`generate run` with a tiny model: astronaut's face into grace_hopper_01. Returns its folder."""
    from swaplab.generate.pipeline import run

    out = tmp_path_factory.mktemp("swap")
    run(_tiny_run_config(sample_dir, out))
    return out


@pytest.fixture(scope="session")
def tiny_run_config(sample_dir: Path, tiny_swap: Path):
    """The settings :func:`tiny_swap` ran with, to run them again."""
    return _tiny_run_config(sample_dir, tiny_swap)


@pytest.fixture(scope="session")
def tiny_swap_reverse(tiny_swap: Path, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny model run the other way: grace_hopper's face into astronaut_01. Returns the swap folder."""
    from swaplab.generate.swap import SwapConfig, run

    out = tmp_path_factory.mktemp("swap_reverse")
    run(SwapConfig(model=tiny_swap / "model", dst=sample_dir / "astronaut" / "astronaut_01.mp4", out=out, into="dst"))
    return out


MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"


@pytest.fixture(scope="session")
def media() -> Path:
    """``../shared/media`` (real footage, see its NOTICE.md).

    Skips with the reason when the folder is absent; fails instead when
    ``SWAPLAB_REQUIRE_MEDIA=1`` (set by ``.ci/run``), so CI never skips real-media tests.
    """
    if not (MEDIA / "NOTICE.md").is_file():
        reason = f"real media not found at {MEDIA} (the shared/ folder beside the checkout)"
        if os.environ.get("SWAPLAB_REQUIRE_MEDIA") == "1":
            pytest.fail(f"SWAPLAB_REQUIRE_MEDIA=1 but {reason}")
        pytest.skip(reason)
    return MEDIA


def _face_record(identity: str, video: str, frame: int = 0, run: str = "", source: str = "") -> FaceRecord:
    """A real face row, or a fake one when ``run`` (its generator_run) is given; ``source`` is the dst person."""
    return FaceRecord(crop_path=f"crops/{video}/{frame:06d}.png", identity=identity, video_id=video,
                      frame_index=frame, timestamp=frame / 25, source_path=f"{video}.mp4", source_sha256="0" * 64,
                      has_face=True, bbox=(0.0, 0.0, 10.0, 10.0), landmarks=((1.0, 1.0),) * 5,
                      matrix=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)), crop_size=32, face_type="whole_face",
                      template="t", frame_width=64, frame_height=64, detector="mtcnn", det_score=1.0,
                      landmark_source="mtcnn", selection="largest", label="fake" if run else "real",
                      generator_run=run, source_identity=source)


@pytest.fixture(scope="session")
def face_record():
    """A factory of manifest rows for protocol unit tests: ``face_record(identity, video, frame, run, source)``."""
    return _face_record
