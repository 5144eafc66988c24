"""``swaplab generate run``: extract -> train -> swap -> composite -> quality, resumable.

Each step leaves a finished output that the next run finds and skips: face
manifests, the checkpoint (training resumes from it), the composite and
``quality.json``. Interrupt it and run the same command again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swaplab.core.config import save_config
from swaplab.core.fileio import require_input_file, require_writable_dir
from swaplab.faces import extract
from swaplab.generate import swap, train
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


def train_or_resume(src_faces: Path, dst_faces: Path, model_dir: Path, *, preset: str, iterations: int,
                    minutes: float | None, seed: int, device: str) -> Path:
    """Train a model, or continue the one already in ``model_dir``; return its checkpoint."""
    return train.run(train.TrainConfig(src=src_faces, dst=dst_faces, out=model_dir, preset=preset,
                                       iterations=iterations, minutes=minutes, seed=seed, device=device,
                                       resume=(model_dir / train.CHECKPOINT).exists()))


def swap_measured(config: swap.SwapConfig, pasted_faces: Path) -> Path:
    """Swap and composite (unless already done), then write ``quality.json`` (unless there);
    ``pasted_faces`` are the faces of the person pasted in. Returns the fake-face manifest."""
    out, dst = Path(config.out), Path(config.dst)
    video = out / f"{dst.stem}.swapped.mp4"
    fakes = out / "fakes" / "faces.csv"
    if not (video.exists() and fakes.exists()):
        video = swap.run(config)
    if not (out / "quality.json").exists():
        write_quality(out, video, dst, pasted_faces, config.device)
    return fakes


def run(config: PipelineConfig) -> Path:
    """Run (or finish) the whole generation; return the swapped video."""
    out = require_writable_dir(config.out)
    src, dst = require_input_file(Path(config.src)), require_input_file(Path(config.dst))
    save_config(config, out / "run_config.json")
    src_faces = _extract_once(src, out / "src_faces", config.src_identity or src.stem, config.device)
    dst_faces = _extract_once(dst, out / "dst_faces", config.dst_identity or dst.stem, config.device)
    model_dir = out / "model"
    train_or_resume(src_faces, dst_faces, model_dir, preset=config.preset, iterations=config.iterations,
                    minutes=config.minutes, seed=config.seed, device=config.device)
    swap_measured(swap.SwapConfig(model=model_dir, dst=dst, out=out / "swap", colour=config.colour,
                                  blend=config.blend, watermark=config.watermark, device=config.device), src_faces)
    return out / "swap" / f"{dst.stem}.swapped.mp4"
