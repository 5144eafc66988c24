"""Stage ``swap``: put src's face into every frame of a dst video, then composite it.

Per frame: aligned crop (landmarks tracked and smoothed) -> model -> face and
mask -> colour transfer -> mask erode/blur -> paste back through the inverse
alignment -> blend. Frames without a face pass through unchanged.

Writes into ``out``:
``<dst>.swapped.mp4``        the composite: dst's size, fps, frame count and audio; labelled synthetic
``<dst>.provenance.json``    run id, config, checkpoint hash, input hashes, library versions, seed
``masks/NNNNNN.png``         the blend mask of each frame (frame size, 8-bit)
``fakes/faces.csv``          the fake-face manifest (label fake, generator run, the 2x3 transforms)
``dst_faces/``               dst's extracted faces
``swap_config.json``

``into="dst"`` runs the model the other way: a video of src receives dst's face.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.core.config import save_config
from swaplab.datasets.manifest import FaceRecord, read_manifest, write_manifest
from swaplab.core.device import resolve_device
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import require_input_file, require_writable_dir, sha256_of
from swaplab.faces import align, extract
from swaplab.generate.blend import BLENDS, blend_into_frame, shape_mask
from swaplab.generate.colour import COLOUR_TRANSFERS
from swaplab.generate.composite import Provenance, write_composite
from swaplab.generate.faceset import face_mask
from swaplab.generate.models import ModelSpec, SwapModel, build_model
from swaplab.generate.train import CHECKPOINT, load_checkpoint
from swaplab.core.media import Frame, iter_frames, probe, write_image
from swaplab.core.progress import track

CROP = 256  # size of the dst crops extracted for swapping, and of the fake-face crops


@dataclass(frozen=True)
class SwapConfig:
    """Settings of ``swaplab generate swap``.

    ``mask`` is ``predicted`` (the decoder's mask) or ``template`` (the fixed
    training mask); ``mask_erode`` / ``mask_blur`` are pixels at the model's
    resolution; ``smooth`` is the landmark smoothing window (frames).
    """

    model: Path
    dst: Path
    out: Path
    colour: str = "rct"
    blend: str = "alpha"
    mask: str = "predicted"
    mask_erode: int = 1
    mask_blur: int = 3
    smooth: int = 5
    watermark: bool = False
    into: str = "src"
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.into not in ("src", "dst"):
            raise SwaplabError(f"--into {self.into!r}: choose src (dst video gets src's face) or dst (the reverse)")
        if self.blend not in BLENDS:
            raise SwaplabError(f"unknown blend {self.blend!r}; choose one of {BLENDS}")
        if self.mask not in ("predicted", "template"):
            raise SwaplabError(f"unknown mask {self.mask!r}; choose predicted or template")


def load_model(model_dir: Path, device: torch.device) -> tuple[SwapModel, dict]:
    """The trained model in eval mode, and its checkpoint's metadata."""
    payload = load_checkpoint(Path(model_dir) / CHECKPOINT, device)
    model = build_model(ModelSpec(**payload["spec"])).to(device)
    model.load_state_dict(payload["model"])
    return model.eval(), {**payload["meta"], "iteration": payload["iteration"]}


def run_id(config: SwapConfig, checkpoint_hash: str, dst_hash: str) -> str:
    """A short id naming this generator run: hash of config, model and input."""
    text = json.dumps([dataclasses.asdict(config), checkpoint_hash, dst_hash], default=str, sort_keys=True)
    return "swap-" + hashlib.sha256(text.encode()).hexdigest()[:12]


class Swapper:
    """Swaps faces frame by frame for one dst video."""

    def __init__(self, config: SwapConfig, model: SwapModel, meta: dict, device: torch.device) -> None:
        self.config, self.model, self.meta, self.device = config, model, meta, device
        self.resolution = model.spec.resolution
        self.colour = COLOUR_TRANSFERS.get(config.colour)
        self.template_mask = face_mask(self.resolution, meta["face_type"])

    def _to_model(self, matrix: np.ndarray) -> np.ndarray:
        """Frame->crop matrix at CROP px -> at the model's resolution."""
        return matrix * (self.resolution / CROP)

    @torch.inference_mode()
    def swap_frame(self, frame: np.ndarray, record: FaceRecord) -> tuple[np.ndarray, np.ndarray]:
        """(swapped frame (H, W, 3) uint8, blend mask (H, W) float32) for one frame with a face."""
        matrix = self._to_model(record.matrix_array)
        crop = align.crop(frame, matrix, self.resolution).astype(np.float32) / 255
        tensor = torch.from_numpy(crop).permute(2, 0, 1)[None].to(self.device)
        face, predicted = self.model.swap(tensor, self.config.into)
        face = face[0].permute(1, 2, 0).float().cpu().numpy()
        mask = predicted[0, 0].float().cpu().numpy() if self.config.mask == "predicted" else self.template_mask
        mask = shape_mask(mask, self.config.mask_erode, self.config.mask_blur)
        face = self.colour(face, crop, mask)
        return blend_into_frame(frame, face, mask, matrix, self.config.blend)

    def frames(self, dst: Path, records: list[FaceRecord], mask_dir: Path) -> Iterator[np.ndarray]:
        """Swapped frames in order; writes each frame's blend mask to ``mask_dir``."""
        info = probe(dst)
        for frame in track(iter_frames(dst, info), f"swap {dst.name}", info.frame_count):
            record = records[frame.index] if frame.index < len(records) else None
            image, mask = self._swap_or_pass(frame, record)
            write_image(mask_dir / f"{frame.index:06d}.png", np.repeat((mask * 255).round().astype(np.uint8)[..., None], 3, 2))
            yield self._watermark(image) if self.config.watermark else image

    def _swap_or_pass(self, frame: Frame, record: FaceRecord | None) -> tuple[np.ndarray, np.ndarray]:
        if record is None or not record.has_face:
            return frame.image, np.zeros(frame.image.shape[:2], np.float32)
        return self.swap_frame(frame.image, record)

    @staticmethod
    def _watermark(image: np.ndarray) -> np.ndarray:
        out = image.copy()
        height = out.shape[0]
        cv2.putText(out, "SYNTHETIC", (8, height - 10), cv2.FONT_HERSHEY_SIMPLEX, height / 600, (255, 255, 255), 2,
                    cv2.LINE_AA)
        return out


def fake_records(video: Path, dst_records: list[FaceRecord], meta: dict, generator_run: str,
                 out: Path, into: str = "src") -> list[FaceRecord]:
    """Crop every swapped face from the composite with dst's transform: the fake-face manifest rows."""
    video_sha = sha256_of(video)
    rows = []
    crops_dir = out / "fakes" / "crops" / video.stem
    for frame in iter_frames(video):
        original = dst_records[frame.index]
        changes = dict(source_path=str(video), source_sha256=video_sha, video_id=video.stem,
                       identity=meta[f"{into}_identity"], label="fake", generator_run=generator_run,
                       source_identity=original.identity)
        if original.has_face:
            relative = f"crops/{video.stem}/{frame.index:06d}.png"
            write_image(crops_dir / f"{frame.index:06d}.png", align.crop(frame.image, original.matrix_array, CROP))
            changes["crop_path"] = relative
        rows.append(dataclasses.replace(original, **changes))
    return rows


def run(config: SwapConfig) -> Path:
    """Swap, composite and label one dst video; return the composite's path."""
    out = require_writable_dir(config.out)
    dst = require_input_file(Path(config.dst))
    device = resolve_device(config.device)
    model, meta = load_model(config.model, device)
    checkpoint_hash = sha256_of(Path(config.model) / CHECKPOINT)
    generator_run = run_id(config, checkpoint_hash, sha256_of(dst))
    faces = read_manifest(extract.run(extract.ExtractConfig(
        inputs=(dst,), out=out / "dst_faces", crop_size=CROP, face_type=meta["face_type"], smooth=config.smooth,
        identity=meta.get("dst_identity" if config.into == "src" else "src_identity"), device=config.device)))
    swapper = Swapper(config, model, meta, device)
    provenance = Provenance(generator_run=generator_run, config=config, checkpoint_sha256=checkpoint_hash,
                            inputs={str(dst): sha256_of(dst)}, model_meta=meta)
    video = write_composite(swapper.frames(dst, faces, out / "masks"), dst, out / f"{dst.stem}.swapped.mp4",
                            provenance)
    write_manifest(fake_records(video, faces, meta, generator_run, out, config.into), out / "fakes" / "faces.csv")
    save_config(config, out / "swap_config.json")
    return video
