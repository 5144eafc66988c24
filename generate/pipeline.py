"""``swaplab generate run``: extract -> train -> swap -> composite -> quality, resumable.

Each step leaves a finished output that the next run finds and skips: face
manifests, the checkpoint (training resumes from it), the composite and
``quality.json``. Interrupt it and run the same command again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swaplab.config import save_config
from swaplab.fileio import require_input_file, require_writable_dir
from swaplab.generate import extract, swap, train
from swaplab.generate.quality import write_quality


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of ``swaplab generate run``; identities default to the videos' names."""

    src: Path
    dst: Path
    out: Path
    preset: str = "lq"
    iterations: int = 2000
    minutes: float | None = None
    src_identity: str | None = None
    dst_identity: str | None = None
    colour: str = "rct"
    blend: str = "alpha"
    watermark: bool = False
    seed: int = 0
    device: str = "auto"


def _extract_once(video: Path, out: Path, identity: str | None, device: str) -> Path:
    manifest = out / extract.MANIFEST_NAME
    if manifest.exists():
        return manifest
    return extract.run(extract.ExtractConfig(inputs=(video,), out=out, identity=identity, device=device))


def run(config: PipelineConfig) -> Path:
    """Run (or finish) the whole generation; return the swapped video."""
    out = require_writable_dir(config.out)
    src, dst = require_input_file(Path(config.src)), require_input_file(Path(config.dst))
    save_config(config, out / "run_config.json")
    src_faces = _extract_once(src, out / "src_faces", config.src_identity or src.stem, config.device)
    dst_faces = _extract_once(dst, out / "dst_faces", config.dst_identity or dst.stem, config.device)
    model_dir = out / "model"
    train.run(train.TrainConfig(src=src_faces, dst=dst_faces, out=model_dir, preset=config.preset,
                                iterations=config.iterations, minutes=config.minutes, seed=config.seed,
                                device=config.device, resume=(model_dir / train.CHECKPOINT).exists()))
    swap_dir = out / "swap"
    video = swap_dir / f"{dst.stem}.swapped.mp4"
    if not (video.exists() and (swap_dir / "fakes" / "faces.csv").exists()):
        video = swap.run(swap.SwapConfig(model=model_dir, dst=dst, out=swap_dir, colour=config.colour,
                                         blend=config.blend, watermark=config.watermark, device=config.device))
    if not (swap_dir / "quality.json").exists():
        write_quality(swap_dir, video, dst, src_faces, config.device)
    return video
