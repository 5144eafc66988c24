"""``swaplab generate run``: extract -> train -> swap -> composite -> quality, resumable.

Each step leaves a finished output that the next run finds and skips: face
manifests, the checkpoint (training resumes from it), the composite and
``quality.json``. Interrupt it and run the same command again.

``--minutes`` is a promise about the whole run: extraction, training and the swap share it.
Training gets what is left after extraction and after a reserve for swapping and measuring
dst (estimated from dst's frame count), and no default iteration cap cuts it short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from swaplab.core.config import build_config, save_config
from swaplab.core.device import resolve_device, resolve_precision
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import require_input_file, require_writable_dir, sha256_of, write_json_atomic
from swaplab.core.media import probe
from swaplab.datasets.manifest import FaceRecord, faces_only, read_manifest
from swaplab.datasets.outputs import ExtractOutput, RunOutput, SwapOutput, TrainOutput
from swaplab.faces import extract
from swaplab.generate import swap, tier, train
from swaplab.generate.models import PRESETS
from swaplab.generate.quality import write_quality

# Seconds per dst frame kept back from a time budget for swapping and measuring the swap
# (mesh mask, model, paste, encode, then quality.json: FaceNet, dlib, MTCNN pose check, realism,
# and the face sets' loading before the training loop), per model resolution. Measured on this
# project's 2-core CPU: a 12-minute `generate run` at 64 px on a 175-frame dst spent 76 s outside
# extraction and the training loop, 0.43 s a frame (0.15, the swap alone, overran the budget by
# 50 s). 128 px: the swap's share doubled. 0.45 was a little short with the identity loss on a 720p dst
# (vr_5 -> lp_s18, 282 frames, 2026-11-27): 13:05 wall for --minutes 13, 117 s from the training loop's
# end to quality.json plus the identity loss's set-up; hence 0.5. 0.5 then gave 12:51 and, in a later
# run of the same command, 13:03 (124 s from the model's last save to quality.json); hence 0.55.
# src's filmed detail (generate.exemplar) adds its face set's loading and one optical flow per face:
# 58 -> 64 s for the swap and quality.json of a 183-frame dst (0.033 s a frame); hence 0.6 and 0.65.
# The temporal filter (generate.temporal) adds one optical flow per face in the frame: 60.5 -> 72.3 s for
# the swap and quality.json of a 150-frame dst (lp_d6's 6 s probe, a 235 x 333 px face box: 0.08 s a
# frame); hence 0.7 and 0.75. Its cost grows with the face's area in the frame, not with the model's
# resolution: a 1080p close-up costs more. The feature fit (generate.feature_fit: one Face Mesh call and
# the skin spread per face) kept within it: `--minutes 13` ended at 12:16 (lp_s18, 282 frames) and 12:25
# (lp_d12, 183 frames) on a machine without AVX-512 (2026-11-27).
SWAP_SECONDS_PER_FRAME = {64: 0.7, 128: 0.75}


# Landmark smoothing window (frames) of dst's extraction in `generate run`: the pasted face follows
# the head, not the detector's frame-to-frame jitter (Savitzky-Golay, each landmark moved at most
# 0.03 inter-ocular distances: faces.tracks.smooth_landmarks; measured in the README on two dst videos:
# flicker 1.79 -> 1.17 on a steady 720p head, pose error unchanged on a fast-moving one).
# `generate swap` and the study keep dst's manifest as extracted.
DST_SMOOTH = 15


def _paths(value: tuple[Path, ...] | Path | list) -> tuple[Path, ...]:
    return (Path(value),) if isinstance(value, str | Path) else tuple(Path(v) for v in value)


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of ``swaplab generate run``; identities default to the first input's name.

    ``src`` and ``dst`` are one input or several (videos and/or photo folders): each side's
    face set is the union of its inputs' faces. The first ``dst`` video receives src's face;
    ``dst_ref`` is an image of the person to replace there when several people show.
    ``preset`` lq, hq, tiny (tests) or auto (chosen from dst's face size, ``minutes``, ``iterations`` and
    ``pretrained``, or kept from a model to resume: ``generate.tier``).
    ``iterations`` None: 2000 without a time budget, no cap with one. ``identity_weight``: the
    training's identity loss (0: off; see generate/identity.py); ``match_pose`` the share of src's
    training draws weighted by dst's head turns (``TrainConfig.match_pose``; None: chosen from the
    turns); ``sharpen`` the swap's unsharp-mask amount,
    ``detail`` the weight of dst's own fine texture on the pasted face (``SwapConfig.detail``),
    ``keep_mouth`` whether dst's own mouth opening stays (``SwapConfig.keep_mouth``), ``keep_eyes`` its eye
    openings and shut eyes (``SwapConfig.keep_eyes``), ``keep_lips`` its closed lips (``SwapConfig.keep_lips``);
    ``chroma_clamp`` the percentile of dst's hues the face is pulled into (``SwapConfig.chroma_clamp``);
    ``shading`` the share of the face's broad light and shadow moved onto dst's (``SwapConfig.shading``);
    ``src_detail`` the gain cap of src's own filmed detail, taken from src's face set (``SwapConfig.src_detail``); ``temporal``
    the weight of the previous frame in the swapped face's low band (``SwapConfig.temporal``); ``feature_fit``
    the share of the move of the swapped face's features onto dst's (``SwapConfig.feature_fit``); ``smooth`` the
    landmark smoothing window (frames, 0: off) of dst's extraction (``DST_SMOOTH``).
    """

    src: tuple[Path, ...] | Path
    dst: tuple[Path, ...] | Path
    out: Path
    preset: str = tier.AUTO
    iterations: int | None = None
    minutes: float | None = None
    src_identity: str | None = None
    dst_identity: str | None = None
    dst_ref: Path | None = None
    colour: str = "rct"
    blend: str = "alpha"
    watermark: bool = False
    pretrained: Path | None = None
    identity_weight: float = 0.0
    match_pose: float | None = None
    sharpen: float = 0.0
    detail: float = 1.0
    keep_mouth: bool = True
    keep_eyes: bool = True
    keep_lips: bool = True
    chroma_clamp: float = 98.0
    shading: float = 0.0
    src_detail: float = 1.5
    temporal: float = 0.8
    feature_fit: float = 0.5
    smooth: int = DST_SMOOTH
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "src", _paths(self.src))
        object.__setattr__(self, "dst", _paths(self.dst))
        if not self.src or not self.dst:
            raise SwaplabError("give at least one --src and one --dst input")
        if self.preset not in (*PRESETS, tier.AUTO):
            raise SwaplabError(f"unknown preset {self.preset!r}; choose one of {', '.join((*PRESETS, tier.AUTO))}")


def extract_once(inputs: tuple[Path, ...], output: ExtractOutput, identity: str | None, device: str,
                  identity_ref: Path | None = None, smooth: int = 0) -> Path:
    """The face manifest of ``inputs``: extracted into ``output`` unless it is already there (from the same inputs)."""
    if output.manifest.exists():
        check_extracted_from(output, inputs)
        return output.manifest
    return extract.run(extract.ExtractConfig(inputs=inputs, out=output.folder, identity=identity,
                                             identity_ref=(identity_ref,) if identity_ref else (), smooth=smooth,
                                             device=device))


def check_extracted_from(output: ExtractOutput, inputs: tuple[Path, ...]) -> None:
    """Refuse to reuse a face set that was extracted from other inputs (a run resumed with other ones), or from a
    file that has changed since (another video saved under the same path: its sha256 against the manifest's)."""
    if not output.config.exists():
        return
    before = [Path(p).resolve() for p in build_config(extract.ExtractConfig, output.config).inputs]
    if before != [Path(p).resolve() for p in inputs]:
        raise SwaplabError(f"{output.folder} holds faces extracted from {[str(p) for p in before]}, not "
                           f"{[str(p) for p in inputs]}: give another --out, or delete {output.folder} to extract "
                           "again")
    rows = read_manifest(output.all_faces) if output.all_faces.exists() else []
    recorded = {row.video_id: row.source_sha256 for row in rows if row.source_sha256}
    for source in inputs:
        digest = recorded.get(Path(source).stem)
        if digest and Path(source).is_file() and sha256_of(Path(source)) != digest:
            raise SwaplabError(f"{source} changed since {output.folder} was extracted from it: give another --out, "
                               f"or delete {output.folder} to extract again")


def train_or_resume(src_faces: Path | tuple[Path, ...], dst_faces: Path | tuple[Path, ...], model_dir: Path, *,
                    preset: str, iterations: int | None, minutes: float | None, seed: int, device: str,
                    pretrained: Path | None = None, identity_weight: float = 0.0,
                    match_pose: float | None = None) -> Path:
    """Train a model (from ``pretrained`` weights if given), or continue the one already in
    ``model_dir``; return its checkpoint. ``minutes`` is the model's whole training time, resumed runs included.
    """
    return train.run(train.TrainConfig(src=src_faces, dst=dst_faces, out=model_dir, preset=preset,
                                       iterations=iterations, minutes=minutes, seed=seed, device=device,
                                       pretrained=pretrained, identity_weight=identity_weight, match_pose=match_pose,
                                       resume=TrainOutput(Path(model_dir)).checkpoint.exists())).checkpoint


def swap_measured(config: swap.SwapConfig, pasted_faces: Path) -> Path:
    """Swap and composite (unless this config already made the swap there, from the same model and dst), then
    write ``quality.json`` (unless there for that swap); ``pasted_faces`` are the faces of the person pasted in.
    Returns the fake-face manifest."""
    output = SwapOutput(Path(config.out), Path(config.dst).stem)
    if not swap.made_by(config, output):
        output.quality.unlink(missing_ok=True)  # it measured another swap
        swap.run(config)
    if not output.quality.exists():
        dst_faces = Path(config.dst_faces) if config.dst_faces is not None else output.dst_faces.manifest
        write_quality(output, Path(config.dst), pasted_faces, dst_faces, config.device)
    return output.fakes.manifest


def first_video(inputs: tuple[Path, ...]) -> Path:
    """The first input that is a video (the one that receives the face)."""
    for path in inputs:
        if require_input_file(path).is_file() and probe(path).kind == "video":
            return path
    raise SwaplabError(f"no video among the --dst inputs {[str(p) for p in inputs]}: one must receive the face")


def receiving_faces(faces: ExtractOutput, dst_video: Path) -> list[FaceRecord]:
    """The faces of ``dst_video`` in dst's face set ``faces``; an error before any training when there are
    none: the video holds no clear face (left out of the extraction, see ``skipped.json``), or none of the
    person chosen."""
    video_id = dst_video.stem  # unique among the inputs (extract.check_distinct_names)
    rows = [row for row in faces_only(read_manifest(faces.manifest)) if row.video_id == video_id]
    if rows:
        return rows
    if any(row.video_id == video_id for row in faces_only(read_manifest(faces.all_faces))):
        why = (f"its faces are not of the person chosen (dst's largest cluster, or --dst-ref): see "
               f"{faces.clusters} and `generate select`")
    else:
        why = f"it holds no clear face (see {faces.skipped})"
    raise SwaplabError(f"{dst_video}: dst's face set {faces.manifest} holds no face of it, so it cannot receive "
                       f"src's face: {why}")


def swap_reserve(dst: Path, preset: str) -> float:
    """Seconds kept back from a time budget for swapping and measuring ``dst`` at ``preset``'s resolution."""
    return probe(dst).frame_count * SWAP_SECONDS_PER_FRAME.get(PRESETS[preset].resolution, 0.3)


def time_left(config: PipelineConfig, started: float, dst: Path, preset: str) -> float | None:
    """Seconds a time budget leaves for training at ``preset``: the budget less what this run spent and the
    swap's reserve (None without ``--minutes``; may be negative)."""
    if not config.minutes:
        return None
    return config.minutes * 60 - (time.perf_counter() - started) - swap_reserve(dst, preset)


def resolved_tier(config: PipelineConfig, output: RunOutput, dst_rows: list[FaceRecord], started: float,
                  dst: Path) -> tier.TierChoice:
    """The preset this run trains (``auto`` decided by ``generate.tier``), written to ``tier.json``."""
    if config.preset == tier.AUTO:
        left = time_left(config, started, dst, "hq")
        device = resolve_device(config.device)
        choice = tier.choose_tier(dst_rows, hq_training_minutes=None if left is None else left / 60,
                                  iterations=config.iterations, pretrained=config.pretrained,
                                  model_dir=output.model.folder,
                                  hardware=tier.hardware(device, resolve_precision("auto", device)))
    else:
        choice = tier.TierChoice(config.preset, None, None, "given")
    write_json_atomic(output.tier, choice.as_dict())
    return choice


def training_minutes(config: PipelineConfig, started: float, dst: Path, preset: str) -> float | None:
    """What a time budget leaves for training: the budget less what this run spent and the swap's reserve."""
    left = time_left(config, started, dst, preset)
    if left is None:
        return None
    if left <= 0:
        raise SwaplabError(f"--minutes {config.minutes}: extraction and the swap of {dst.name} need it all "
                           f"(swap reserve {swap_reserve(dst, preset) / 60:.1f} min); give a larger budget")
    return left / 60


def run(config: PipelineConfig, on_tier: Callable[[tier.TierChoice], None] | None = None) -> SwapOutput:
    """Run (or finish) the whole generation; return where the swap's outputs are. ``on_tier`` hears the
    tier chosen, before training."""
    started = time.perf_counter()
    for path in (*config.src, *config.dst):
        require_input_file(path)
    dst_video = first_video(config.dst)
    output = RunOutput(require_writable_dir(config.out), dst_video.stem)
    save_config(config, output.config)
    src_faces = extract_once(config.src, output.src_faces, config.src_identity or config.src[0].stem, config.device)
    dst_faces = extract_once(config.dst, output.dst_faces, config.dst_identity or dst_video.stem, config.device,
                              config.dst_ref, config.smooth)
    choice = resolved_tier(config, output, receiving_faces(output.dst_faces, dst_video), started, dst_video)
    if on_tier is not None:
        on_tier(choice)
    preset = choice.preset
    train_or_resume(src_faces, dst_faces, output.model.folder, preset=preset, iterations=config.iterations,
                    minutes=training_minutes(config, started, dst_video, preset), seed=config.seed,
                    device=config.device,
                    pretrained=config.pretrained, identity_weight=config.identity_weight,
                    match_pose=config.match_pose)
    swap_measured(swap.SwapConfig(model=output.model.folder, dst=dst_video, out=output.swap.folder,
                                  dst_faces=dst_faces, colour=config.colour, blend=config.blend, sharpen=config.sharpen,
                                  detail=config.detail, keep_mouth=config.keep_mouth, keep_eyes=config.keep_eyes,
                                  keep_lips=config.keep_lips, chroma_clamp=config.chroma_clamp,
                                  shading=config.shading, src_detail=config.src_detail,
                                  temporal=config.temporal, feature_fit=config.feature_fit, src_faces=(src_faces,),
                                  watermark=config.watermark,
                                  device=config.device), src_faces)
    return output.swap
