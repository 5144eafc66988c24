"""Stage ``swap``: put src's face into every frame of a dst video, then composite it.

dst's faces come from its face manifest (``dst_faces``), the one extraction wrote, so the fakes
are aligned exactly as the genuine probes of the same video are (no second extraction, no
smoothing that only fakes get). Without a manifest, dst is extracted here once, with the
extraction defaults, into ``dst_faces/``.

Per face row of the kept person: aligned crop -> model -> face and mask -> colour transfer ->
mask erode/blur -> src's filmed detail (``generate.exemplar``: the face enlarged to 256 px) ->
dst's mouth and eye openings and closed lips cut out of the mask -> the face moved onto dst's features
(``generate.feature_fit``) -> paste back through the inverse alignment -> blend -> steadied along
dst's motion (``generate.temporal``: the soft face carried from the previous frame). Frames without that face,
and every other person in the frame, pass through unchanged.

Writes into ``out`` (names in :class:`swaplab.datasets.outputs.SwapOutput`): the composite
(dst's size, fps, frame count and audio; labelled synthetic), its provenance sidecar, one blend
mask per frame, the fake-face manifest (label fake, generator run, dst's 2x3 transforms), the
resolved config, and dst's extracted faces when they were extracted here.

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
from swaplab.core.device import resolve_device
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import require_input_file, require_writable_dir, sha256_of
from swaplab.core.media import Frame, iter_frames, probe, write_image
from swaplab.core.progress import track
from swaplab.core.provenance import code_sha256
from swaplab.datasets.manifest import FaceRecord, read_manifest, write_manifest
from swaplab.datasets.outputs import SwapOutput, TrainOutput
from swaplab.faces import align, extract
from swaplab.faces.mesh import FaceMesh
from swaplab.generate.blend import BLENDS, blend_into_frame, shape_mask, upscale_of
from swaplab.generate.colour import COLOUR_TRANSFERS, clamp_chroma, match_shading
from swaplab.generate.composite import Provenance, write_composite
from swaplab.generate.exemplar import ExemplarDetail, enlarge, enlarged_matrix, load_bank
from swaplab.generate.feature_fit import FeatureFit
from swaplab.generate.faceset import (as_manifests, closed_lips_mask, eye_openings_mask, face_mask,
                                      mesh_face_mask, mouth_interior_mask, shut_eyes_mask)
from swaplab.generate.models import ModelSpec, SwapModel, build_model
from swaplab.generate.temporal import PastedFace, TemporalFilter, union
from swaplab.generate.train import load_checkpoint

MASKS = ("mesh", "mesh-predicted", "predicted", "template")
MESH_MASKS = ("mesh", "mesh-predicted")  # masks that follow dst's Face Mesh (and so can keep its openings)

# Sigma of the edge of dst's kept mouth opening, as a share of the crop's width: 1 px of a 256 px crop,
# about 1.5 frame px on the talking heads. The opening is cut out of the mask after the mask's erosion and
# blur (1 and 3 model px), not before: cut before, the blur grew it over the lips, and dst's lips showed
# through beside the model's as a doubled upper lip line (lp_d12 frame 120, README). It is cut at the size
# the face is pasted at: 256 px with src's detail, else the model's own (at 64 px, a 0.25 px edge, which
# the paste's enlargement softens to about 1 model px in the frame).
MOUTH_EDGE = 1 / 256
# The same edge for dst's kept eye openings, cut at the same point (a lid margin is a crisp edge too).
EYE_EDGE = 1 / 256
# dst's closed lips are kept grown by LIPS_GROW and softened by LIPS_EDGE (shares of the width): 12 and 4 px of a
# 256 px crop. Grown by 4 px, the dark rim of the wider, parted mouth the models of vr_2 and vr_5 draw still
# showed at a corner and above the upper lip (lp_s18 frames 60 and 200), and 24 % of lp_d12's closed mouths
# still measured open; by 8, a faint corner and a doubled line; by 12, neither (README, "dst's closed lips").
LIPS_GROW = 12 / 256
LIPS_EDGE = 4 / 256
# dst's shut and narrowed eyes (``faceset.shut_eyes_mask``) are kept grown by SHUT_EYE_GROW and softened by
# SHUT_EYE_EDGE (shares of the width): 8 and 3 px of a 256 px crop, where an open eye is about 28 px wide and 10 px
# high. The models draw src's open eyes on dst's shut ones (pexels_wolfgang_langer, crying: README, "dst's shut
# eyes"); kept, dst's lids and lashes show instead.
SHUT_EYE_GROW = 8 / 256
SHUT_EYE_EDGE = 3 / 256
# The Gaussian sigma of the shading moved onto dst's (``SwapConfig.shading``), as a share of the crop's side: 4 px
# at 64 px, about 26 frame px on lp_s18's 418 px face. Broad light and shadow lie below it (src's lit chin, its
# shadowed eye sockets and forehead band on lp_s18); the eyes, nose and mouth above it stay the model's.
SHADING_SIGMA_SHARE = 1 / 16


# The swap's numeric settings: (field, lowest, highest, what to choose, as the error says it).
SETTING_RANGES = (("shading", 0, 1, "a share from 0 (none) to 1 (dst's shading)"),
                  ("sharpen", 0, 4, "an amount from 0 (none) to 4"),
                  ("detail", 0, 2, "a weight from 0 (none) to 2 (default 1)"),
                  ("src_detail", 0, 2, "a gain cap from 0 (none) to 2 (default 1.5)"),
                  ("feature_fit", 0, 1, "a share from 0 (none) to 1"),
                  ("temporal", 0, 0.99, "a weight from 0 (none) to 0.99 (default 0.8)"))


def dst_kept_regions(dense: np.ndarray, size: int, *, mouth: bool, eyes: bool, lips: bool) -> np.ndarray:
    """(S, S) float32 in [0, 1]: where dst's own pixels stay instead of the swap's, from dst's Face Mesh (478, 2)
    in the pixels of an S px crop: its mouth opening (inside the inner lip line, edge ``MOUTH_EDGE``), its eyes
    (open ones inside the lid margins, edge ``EYE_EDGE``; shut and narrowed ones with their lids, ``SHUT_EYE_GROW``,
    ``SHUT_EYE_EDGE``) and its closed lips (``LIPS_GROW``, ``LIPS_EDGE``), each where asked."""
    cut = np.zeros((size, size), np.float32)
    if mouth:
        cut = np.maximum(cut, mouth_interior_mask(dense, size, MOUTH_EDGE * size))
    if eyes:
        cut = np.maximum(cut, eye_openings_mask(dense, size, EYE_EDGE * size))
        cut = np.maximum(cut, shut_eyes_mask(dense, size, SHUT_EYE_GROW * size, SHUT_EYE_EDGE * size))
    if lips:
        cut = np.maximum(cut, closed_lips_mask(dense, size, LIPS_GROW * size, LIPS_EDGE * size))
    return cut


def crop_points(points: np.ndarray | None, found_in: np.ndarray, wanted_in: np.ndarray) -> np.ndarray | None:
    """Points (N, 2) in the pixels of the crop of frame->crop matrix ``found_in`` (2, 3), moved into the crop of
    ``wanted_in`` (2, 3) through the frame; None stays None.

    Not a plain rescale: an enlarged crop's pixel centres are offset (``exemplar.enlarged_matrix``), 1.5 px
    at 256 px for a 64 px model.
    """
    if points is None:
        return None
    return align.apply(wanted_in, align.apply(align.invert(found_in), points))


def check_chroma_clamp(percentile: float) -> None:
    """Refuse a chroma clamp other than 0 (off) or a percentile from 50 to 100."""
    if not (percentile == 0 or 50 <= percentile <= 100):
        raise SwaplabError(f"--chroma-clamp {percentile}: choose 0 (off) or a percentile from 50 to 100")


def paste_mask(kind: str, dense: np.ndarray | None, predicted: np.ndarray, template: np.ndarray) -> np.ndarray:
    """The (R, R) blend mask of one face of the kind ``kind`` (:data:`MASKS`), from dst's Face Mesh ``dense``
    (478, 2) in the model's crop pixels (None where the mesh found no face: the decoder's mask then), the
    decoder's own mask ``predicted`` (R, R) and the fixed ellipse ``template`` (R, R)."""
    if kind == "template":
        return template
    if kind in MESH_MASKS and dense is not None:
        hull = mesh_face_mask(dense, predicted.shape[0])
        return hull if kind == "mesh" else hull * np.clip(predicted, 0, 1)
    return predicted


@dataclass(frozen=True)
class SwapConfig:
    """Settings of ``swaplab generate swap``.

    ``dst_faces`` is dst's face manifest from extraction (None: extract dst here, with the
    extraction defaults); ``dst_ref`` an image of the person to replace when dst shows
    several (used when extracting here). ``mask`` is ``mesh`` (the convex hull of the Face
    Mesh face oval on dst's crop; the decoder's mask where the mesh finds no face),
    ``mesh-predicted`` (that hull times the decoder's mask: none of dst's face where the model
    draws no src face), ``predicted`` (the decoder's mask) or ``template`` (the fixed ellipse);
    ``mask_erode`` / ``mask_blur`` are pixels at the model's resolution. ``sharpen`` is the
    unsharp-mask amount applied to the face once enlarged into the frame (0: none). ``keep_mouth``
    leaves dst's own mouth opening (teeth, tongue, inside the inner lip line of dst's Face Mesh)
    in place of the model's, which renders it as a blur (mesh mask only; on by default, measured in
    the README: teeth and tongue stay sharp, both FR judges unchanged). ``keep_eyes`` likewise leaves dst's own
    eye openings (iris, whites, catchlights: inside the lid margins of dst's Face Mesh), which a 64 or 128 px model
    renders as soft or broken smudges; the lids, lashes and brows of an open eye stay the swap's, while a shut or
    narrowed eye is kept with its lids (``SHUT_EYE_GROW``, at the weight ``faceset.shut_eye_weights`` gives), where the
    model draws src's open eyes (mesh mask only; on by default, measured in the README on four models: both judges
    unchanged at 1.00; the shut eyes in "dst's shut eyes"). ``keep_lips`` leaves dst's own lips
    where its mouth is closed (inside the outer lip line, grown by ``LIPS_GROW``, at the weight
    ``mesh.mouth_closure`` gives: fully below an inner-lip gap of 0.02 IOD, not from 0.04), where a model that
    learnt a talking src draws a parted, dark mouth (mesh mask only; on by default, measured in the README).
    ``chroma_clamp`` pulls the face's hues, after the colour transfer, into dst's own range (CIELAB a*b* out
    to this percentile of dst's pixels in the mask; :func:`colour.clamp_chroma`; 0: off; 98, the default,
    measured in the README: the colour anomaly share 0.154 -> 0.125 and 0.135 -> 0.116 on two lp_s18 models, both
    judges unchanged). ``shading`` then moves that share of the face's broad light and shadow onto dst's (the
    low band of CIELAB lightness below a Gaussian of ``SHADING_SIGMA_SHARE`` of the crop;
    :func:`colour.match_shading`; 0, the default: none; measured in the README: at 1, ``shading_delta_l`` down
    by 20-43 % on three models trained with the identity loss, both judges unchanged at 1.00; on models trained
    without it, both judges' similarities fall).
    ``detail`` adds dst's own fine grey-level texture (periods under about 2.7 model pixels: pores, stubble,
    grain, glints; softly bounded at ``blend.DETAIL_LIMIT`` so dst's brow and eyeliner edges stay out; see
    ``blend.filmed_detail``) to the enlarged face with that weight (0: none; 1, the default;
    measured in the README on three real pairs and an hq model: sharpness ratio 1.6-1.9x that
    of no detail, both FR judges unchanged at 1.00). ``src_detail`` caps the gain of the pasted
    person's own filmed detail, taken from their nearest face in ``src_faces`` and warped onto
    the swapped face (``generate.exemplar``; 0: none; 1.5, the default: the gain stops at dst's own
    sharpness or at 1.5 times src's filmed detail; nothing is added when the face set has no crop
    larger than the model renders; cap 1 -> 1.5 measured in the README).
    ``src_faces`` is that person's face manifest(s); None: the face set the model was trained on
    (its ``train_config.json``), which must still be there. ``temporal`` is the weight of the
    previous output frame, carried along dst's optical flow, in each swapped face's low band
    (``generate.temporal``; 0: each frame on its own; 0.8, the default, measured in the README).
    ``feature_fit`` is the share of the shift, turn and scale that moves each swapped face's features
    (Face Mesh) onto dst's (``generate.feature_fit``; 0: none; 0.5, the default, measured in the README).
    """

    model: Path
    dst: Path
    out: Path
    dst_faces: Path | None = None
    dst_ref: Path | None = None
    colour: str = "rct"
    chroma_clamp: float = 98.0
    shading: float = 0.0
    blend: str = "alpha"
    mask: str = "mesh"
    mask_erode: int = 1
    mask_blur: int = 3
    sharpen: float = 0.0
    detail: float = 1.0
    keep_mouth: bool = True
    keep_eyes: bool = True
    keep_lips: bool = True
    src_detail: float = 1.5
    src_faces: tuple[Path, ...] | None = None
    temporal: float = 0.8
    feature_fit: float = 0.5
    watermark: bool = False
    into: str = "src"
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.src_faces is not None:
            object.__setattr__(self, "src_faces", as_manifests(self.src_faces))
        if self.into not in ("src", "dst"):
            raise SwaplabError(f"--into {self.into!r}: choose src (dst video gets src's face) or dst (the reverse)")
        if self.blend not in BLENDS:
            raise SwaplabError(f"unknown blend {self.blend!r}; choose one of {BLENDS}")
        if self.mask not in MASKS:
            raise SwaplabError(f"unknown mask {self.mask!r}; choose one of {', '.join(MASKS)}")
        check_chroma_clamp(self.chroma_clamp)
        for name, low, high, choice in SETTING_RANGES:
            value = getattr(self, name)
            if not low <= value <= high:
                raise SwaplabError(f"--{name.replace('_', '-')} {value}: choose {choice}")


def load_model(model_dir: Path, device: torch.device) -> tuple[SwapModel, dict]:
    """The trained model in eval mode, and its checkpoint's metadata."""
    payload = load_checkpoint(TrainOutput(Path(model_dir)).checkpoint, device)
    model = build_model(ModelSpec(**payload["spec"])).to(device)
    model.load_state_dict(payload["model"])
    return model.eval(), {**payload["meta"], "iteration": payload["iteration"]}


def run_id(config: SwapConfig, checkpoint_hash: str, dst_hash: str) -> str:
    """A short id naming this generator run: hash of config, model and input."""
    text = json.dumps([dataclasses.asdict(config), checkpoint_hash, dst_hash], default=str, sort_keys=True)
    return "swap-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def kept(record: FaceRecord) -> bool:
    """Whether a manifest row is a face to replace: a face the extraction's selection kept.

    A face set holds only kept faces (the chosen person: ``--identity-ref``, else the largest
    identity cluster); an all-faces manifest also holds the others (selection ``none``), which
    pass through untouched.
    """
    return record.has_face and record.selection != "none"


def video_rows(records: list[FaceRecord], dst_sha256: str, manifest: Path, dst: Path) -> list[FaceRecord]:
    """The rows of ``records`` that come from the dst video (matched by its sha256), in frame order."""
    rows = [record for record in records if record.source_sha256 == dst_sha256]
    if not rows:
        raise SwaplabError(f"{manifest}: holds no faces of {dst} (no row with its sha256); extract dst first")
    return sorted(rows, key=lambda record: record.frame_index)


def rows_by_frame(rows: list[FaceRecord]) -> dict[int, list[FaceRecord]]:
    """Frame index -> the rows to paste into that frame (faces of the kept person only)."""
    frames: dict[int, list[FaceRecord]] = {}
    for record in rows:
        if kept(record):
            frames.setdefault(record.frame_index, []).append(record)
    return frames


def pasted_face_sets(config: SwapConfig) -> tuple[Path, ...]:
    """The face manifest(s) of the person pasted in: ``config.src_faces``, else the model's training set of that side.

    Raises
    ------
    SwaplabError
        A manifest is missing (a model moved without its face sets: give ``--src-faces``, or ``--src-detail 0``).
    """
    if config.src_faces is not None:
        return tuple(require_input_file(path) for path in config.src_faces)
    trained_on = TrainOutput(Path(config.model)).config
    if not trained_on.is_file():
        raise SwaplabError(f"{trained_on}: not found, so the face set the model was trained on is unknown; its faces "
                           "lend the swap their detail: give --src-faces MANIFEST, or --src-detail 0")
    paths = as_manifests(json.loads(trained_on.read_text())["config"][config.into])
    for path in paths:
        if not path.is_file():
            raise SwaplabError(f"{path}: the face set the model was trained on is gone; its faces lend the swap "
                               "their detail: give --src-faces MANIFEST, or --src-detail 0")
    return paths


class Swapper:
    """Swaps faces frame by frame for one dst video."""

    def __init__(self, config: SwapConfig, model: SwapModel, meta: dict, device: torch.device) -> None:
        self.config, self.model, self.meta, self.device = config, model, meta, device
        self.resolution = model.spec.resolution
        self.colour = COLOUR_TRANSFERS.get(config.colour)
        self.template_mask = face_mask(self.resolution, meta["face_type"])
        self.mesh = FaceMesh() if config.mask in MESH_MASKS or config.feature_fit > 0 else None
        self.feature_fit = FeatureFit(config.feature_fit, self.mesh) if config.feature_fit > 0 else None
        bank = (load_bank(config.src_faces, self.resolution, meta["face_type"])
                if config.src_detail > 0 and config.src_faces else None)
        self.exemplars = ExemplarDetail(bank, config.src_detail) if bank is not None else None
        self.temporal = TemporalFilter(config.temporal)

    def _to_model(self, record: FaceRecord) -> np.ndarray:
        """The record's frame->crop matrix (at its crop size) -> at the model's resolution."""
        return record.matrix_array * (self.resolution / record.crop_size)

    def _dst_mesh(self, frame: np.ndarray, record: FaceRecord) -> np.ndarray | None:
        """dst's Face Mesh (478, 2) in the record's crop pixels; None without a mesh or a face."""
        if self.mesh is None:
            return None
        dense = self.mesh.crop_landmarks(align.crop(frame, record.matrix_array, record.crop_size))
        return None if dense is None else dense[:, :2]

    def _paste_mask(self, dense: np.ndarray | None, predicted: np.ndarray) -> np.ndarray:
        """The face's (R, R) blend mask before shaping and before dst's mouth opening is cut out; ``dense`` is
        dst's mesh (478, 2) in the model's crop pixels."""
        return paste_mask(self.config.mask, dense, predicted, self.template_mask)

    def _keep_dst_regions(self, mask: np.ndarray, dense: np.ndarray | None) -> np.ndarray:
        """A shaped (S, S) mask with dst's openings cut out as asked (:func:`dst_kept_regions`), dst's mesh (478, 2)
        in the same crop's pixels; the mask unchanged unless the mesh mask is used and dst's mesh was found."""
        config = self.config
        if config.mask not in MESH_MASKS or dense is None:
            return mask
        return mask * (1 - dst_kept_regions(dense, mask.shape[0], mouth=config.keep_mouth, eyes=config.keep_eyes,
                                        lips=config.keep_lips))

    @torch.inference_mode()
    def swap_face(self, frame: np.ndarray, record: FaceRecord) -> tuple[np.ndarray, np.ndarray]:
        """(frame (H, W, 3) uint8 with this face swapped, blend mask (H, W) float32 in [0, 1])."""
        matrix = self._to_model(record)
        crop = align.crop(frame, matrix, self.resolution).astype(np.float32) / 255
        tensor = torch.from_numpy(crop).permute(2, 0, 1)[None].to(self.device)
        face, predicted = self.model.swap(tensor, self.config.into)
        face = face[0].permute(1, 2, 0).float().cpu().numpy()
        dense = self._dst_mesh(frame, record)
        points = crop_points(dense, record.matrix_array, matrix)  # dst's mesh in the model's crop
        mask = self._paste_mask(points, predicted[0, 0].float().cpu().numpy())
        mask = shape_mask(mask, self.config.mask_erode, self.config.mask_blur)
        holed = self._keep_dst_regions(mask, points)
        face = self.colour(face, crop, holed)
        if self.config.chroma_clamp > 0:
            face = clamp_chroma(face, crop, holed, self.config.chroma_clamp)
        face = match_shading(face, crop, holed, SHADING_SIGMA_SHARE * self.resolution, self.config.shading)
        if self.exemplars is not None:
            size = self.exemplars.bank.size
            matrix = enlarged_matrix(matrix, self.resolution, size)
            face, _ = self.exemplars.apply(face, holed, align.crop(frame, matrix, size), record.track_id)
            mask = np.clip(enlarge(mask, size), 0, 1)
            points = crop_points(dense, record.matrix_array, matrix)  # dst's mesh in the enlarged crop
        mask = self._keep_dst_regions(mask, points)
        face_matrix = matrix
        if self.feature_fit is not None:
            face, face_matrix = self.feature_fit.apply(face, points, matrix, record.track_id)
        return blend_into_frame(frame, face, mask, matrix, self.config.blend, self.config.sharpen,
                                self.config.detail, self.resolution, face_matrix)

    def swap_frame(self, frame: np.ndarray, records: list[FaceRecord]) -> tuple[np.ndarray, np.ndarray]:
        """Every listed face of one frame swapped and steadied against the previous frame; the union of their
        blend masks. Frames must come in order (see :class:`TemporalFilter`)."""
        image, faces = frame, []
        for record in records:
            image, face_mask_frame = self.swap_face(image, record)
            faces.append(PastedFace(face_mask_frame, record.crop_size * upscale_of(record.matrix_array)))
        return self.temporal(frame, image, faces), union(faces, frame.shape[:2])

    def frames(self, dst: Path, faces: dict[int, list[FaceRecord]], output: SwapOutput) -> Iterator[np.ndarray]:
        """Swapped frames in order; writes each frame's blend mask."""
        info = probe(dst)
        for frame in track(iter_frames(dst, info), f"swap {dst.name}", info.frame_count):
            image, mask = self._swap_or_pass(frame, faces.get(frame.index, []))
            write_image(output.mask(frame.index), np.repeat((mask * 255).round().astype(np.uint8)[..., None], 3, 2))
            yield self._watermark(image) if self.config.watermark else image

    def _swap_or_pass(self, frame: Frame, records: list[FaceRecord]) -> tuple[np.ndarray, np.ndarray]:
        if not records:
            return self.temporal(frame.image, frame.image, []), np.zeros(frame.image.shape[:2], np.float32)
        return self.swap_frame(frame.image, records)

    def close(self) -> None:
        if self.mesh is not None:
            self.mesh.close()

    @staticmethod
    def _watermark(image: np.ndarray) -> np.ndarray:
        out = image.copy()
        height = out.shape[0]
        cv2.putText(out, "SYNTHETIC", (8, height - 10), cv2.FONT_HERSHEY_SIMPLEX, height / 600, (255, 255, 255), 2,
                    cv2.LINE_AA)
        return out


def fake_records(video: Path, dst_rows: list[FaceRecord], meta: dict, generator_run: str,
                 output: SwapOutput, into: str = "src") -> list[FaceRecord]:
    """Crop every swapped face from the composite with dst's transform: the fake-face manifest rows.

    One row per frame: the swapped face where the kept person shows, else a row without a face.
    """
    video_sha = sha256_of(video)
    by_frame = rows_by_frame(dst_rows)
    no_face = {r.frame_index: r for r in dst_rows if not r.has_face}
    rows = []
    for frame in iter_frames(video):
        changes = dict(source_path=str(video), source_sha256=video_sha, video_id=video.stem,
                       identity=meta[f"{into}_identity"], label="fake", generator_run=generator_run)
        for number, original in enumerate(by_frame.get(frame.index, [])):
            name = f"{frame.index:06d}.png" if number == 0 else f"{frame.index:06d}_{number}.png"
            relative = Path("crops") / video.stem / name
            write_image(output.fakes.folder / relative, align.crop(frame.image, original.matrix_array,
                                                                     original.crop_size))
            rows.append(dataclasses.replace(original, **changes, crop_path=relative.as_posix(),
                                            source_identity=original.identity))
        if frame.index not in by_frame and frame.index in no_face:
            original = no_face[frame.index]
            rows.append(dataclasses.replace(original, **changes, source_identity=original.identity))
    return rows


def dst_manifest(config: SwapConfig, meta: dict, output: SwapOutput) -> Path:
    """dst's face manifest: the one given, else dst extracted here once (extraction defaults, no smoothing)."""
    if config.dst_faces is not None:
        return require_input_file(Path(config.dst_faces))
    if output.dst_faces.manifest.exists():
        return output.dst_faces.manifest
    identity = meta.get("dst_identity" if config.into == "src" else "src_identity")
    return extract.run(extract.ExtractConfig(inputs=(Path(config.dst),), out=output.dst_faces.folder,
                                             face_type=meta["face_type"], identity=identity,
                                             identity_ref=(Path(config.dst_ref),) if config.dst_ref else (),
                                             device=config.device))


def _check_rows(rows: list[FaceRecord], meta: dict, manifest: Path) -> None:
    types = {r.face_type for r in rows if r.has_face}
    if types - {meta["face_type"]}:
        raise SwaplabError(f"{manifest}: dst faces are {sorted(types)}, the model was trained on "
                           f"{meta['face_type']!r} faces; extract dst with --face-type {meta['face_type']}")


def resolved(config: SwapConfig) -> SwapConfig:
    """The config as the swap runs it: with src's face sets named when src's detail is used."""
    if config.src_detail > 0:
        return dataclasses.replace(config, src_faces=pasted_face_sets(config))
    return config


def made_by(config: SwapConfig, output: SwapOutput) -> bool:
    """Whether ``output`` holds a finished swap made with this config from this checkpoint, this dst video and
    these face manifests by this code: its provenance and every row of its fake manifest name the generator run
    this config would be, the inputs its provenance hashed still hash the same, and so does the swapping code
    (:func:`swap_code_sha256`). False for a swap made otherwise, one cut short between its video and its
    manifest, or none."""
    if not (output.video.exists() and output.fakes.manifest.exists() and output.provenance.exists()):
        return False
    checkpoint = require_input_file(TrainOutput(Path(config.model)).checkpoint)
    dst = require_input_file(Path(config.dst))
    digests = {str(dst): sha256_of(dst)}  # dst is among the hashed inputs too: read it once
    wanted = run_id(resolved(config), sha256_of(checkpoint), digests[str(dst)])
    provenance = json.loads(output.provenance.read_text())
    if provenance.get("generator_run") != wanted or provenance.get("code_sha256") != swap_code_sha256():
        return False
    if any(row.generator_run != wanted for row in read_manifest(output.fakes.manifest)):
        return False
    for path, digest in provenance.get("inputs_sha256", {}).items():
        if not Path(path).is_file():
            return False
        if path not in digests:
            digests[path] = sha256_of(Path(path))
        if digests[path] != digest:
            return False
    return True


def swap_code_sha256() -> str:
    """sha256 of the code a swap runs: swaplab's core, datasets, faces and generate packages."""
    from swaplab import core, datasets, faces, generate

    return code_sha256(*(Path(package.__file__).parent for package in (core, datasets, faces, generate)))


def run(config: SwapConfig) -> SwapOutput:
    """Swap, composite and label one dst video; return where its outputs are."""
    dst = require_input_file(Path(config.dst))
    output = SwapOutput(require_writable_dir(config.out), dst.stem)
    config = resolved(config)
    device = resolve_device(config.device)
    model, meta = load_model(config.model, device)
    checkpoint_hash, dst_hash = sha256_of(TrainOutput(Path(config.model)).checkpoint), sha256_of(dst)
    generator_run = run_id(config, checkpoint_hash, dst_hash)
    manifest = dst_manifest(config, meta, output)
    rows = video_rows(read_manifest(manifest), dst_hash, manifest, dst)
    _check_rows(rows, meta, manifest)
    swapper = Swapper(config, model, meta, device)
    inputs = {str(path): sha256_of(path) for path in (dst, manifest, *(config.src_faces or ()))}
    provenance = Provenance(generator_run=generator_run, config=config, checkpoint_sha256=checkpoint_hash,
                            inputs=inputs, model_meta=meta, code_sha256=swap_code_sha256())
    try:
        write_composite(swapper.frames(dst, rows_by_frame(rows), output), dst, output, provenance)
    finally:
        swapper.close()
    write_manifest(fake_records(output.video, rows, meta, generator_run, output, config.into), output.fakes.manifest)
    save_config(config, output.config)
    return output
