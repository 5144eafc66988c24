"""Swap quality, measured for every swapped video (``quality.json``).

Identity (does the fake pass as src?)

similarity_to_src        FaceNet cosine of the swapped faces to src's template (mean over frames)
similarity_to_dst        FaceNet cosine of each swapped face to the original dst face of its frame
similarity_dst_to_src    the same for dst's original faces (what the swap starts from)
retrieval_src_share      share of swapped frames nearer src's template than dst's
facenet_accept_rate      share of swapped frames with cosine to src's template >= 0.41 (FaceNet's
                         licit-EER threshold on the talking-head set): accepted as src
facenet_dst_accept_rate  the same for dst's original faces: the pair's zero-effort baseline
dlib_accept_rate         share with dlib-ResNet cosine to src's template >= 0.904 (only when a
                         ``dlib`` FR backend is registered): the EER threshold of the backend's
                         L2-normalised embeddings on real photo pairs (benchmarks/bench_fr.py --photos,
                         52 MEDS photos of 7 people). dlib's documented 0.6 is a distance between raw,
                         unnormalised descriptors and does not apply to these embeddings.
dlib_dst_accept_rate     the same for dst's original faces (baseline)
dlib_similarity_to_src, dlib_dst_similarity_to_src  the mean dlib cosines behind those two rates: how far
                         above (or below) 0.904 the blind judge sees the swap, and dst's own faces

Realism (does it look real?), on up to 48 frames spread over the video, in the blend mask of
each frame (``masks/``), against the original dst frame at the same place

sharpness_ratio          variance of the Laplacian inside the face (mask >= 0.99), swapped / original:
                         below 1 the face is blurrier than the one it replaces
seam_colour_ratio        colour jump across the mask edge (local mean colour just inside vs just
                         outside, 0-255 RGB distance), swapped / original
seam_gradient_ratio      gradient magnitude in the mask's transition band (0.2-0.8), swapped / original
fringe_delta_e           mean CIELAB colour difference swapped vs original in the band just inside the
                         mask edge (where src's background would leak in)
interior_delta_e         the same in the face interior
fringe_ratio             fringe_delta_e / interior_delta_e: above 1 the border is off-colour more than
                         the face itself (a fringe)
colour_anomaly_share     share of the face interior (mask >= 0.99) where the swapped face's colour, taken
                         relative to its own typical skin colour, departs from the original's, taken
                         relative to its own, at the same pixel: CIELAB a*b* (smoothed, Gaussian
                         sigma 2 px) minus the interior's median a*b*, swapped minus original, farther
                         apart than 10 (Delta E_ab). Blotches (red or purple eyelids, lips where dst's
                         mouth is open, nostrils) raise it; a uniform tint does not (each face's median
                         is removed), nor do lips or eyes where both faces have them. 0 for an
                         untouched face
shading_delta_l          mean CIELAB lightness difference in the face interior between the swapped face's broad
                         light and shadow and the original's, each taken relative to its own face: L* blurred over
                         the interior (normalised Gaussian, sigma = the square root of the face's area / 16: a
                         little narrower than the band ``generate swap --shading`` moves, 1/16 of the crop's side)
                         minus the interior's median, swapped minus original,
                         absolute. Another person under the same light differs a little (their own shapes); src's
                         lighting carried into dst's frame (a lit chin, shadowed eye sockets) raises it. 0 for an
                         untouched face

Eyes (is each eye still an eye?), on every swapped face with dst's mesh: both FR judges can accept a
face whose eye is a swirl of skin, and the realism figures average it away

eye_likeness_swapped     each eye of the swapped face, cut at dst's mesh eye corners and band-passed
                         (``faces.eyes``), against a bank of real eyes: src's (every other face of its
                         set) and dst's (the swapped frames' originals, for the gazes and blinks src may
                         never show; those within OWN_FRAMES of the face's own frame left out); the best
                         normalised cross-correlation, the face's less real-looking eye, mean over faces
eye_likeness_dst         the same for dst's original eyes against src's eyes only: how far a real eye of
                         another person goes (lower where dst looks up or squints, as src never does)
broken_eye_share         share of swapped faces with an eye_likeness below EYE_LIKENESS_FLOOR
broken_eye_frames        up to 10 of those frames, worst first: the frames to look at
eye_frames               faces measured
keep_eyes                whether the swap kept dst's eye openings and shut eyes (``SwapConfig.keep_eyes``): then the eye
                         figures judge dst's own eyes inside the swap's lids, and a model that draws no eye
                         shows none broken

Mouth and shut eyes (do they open as dst's do?), on every swapped face where Face Mesh finds it on the fake's crop

mouth_gap_swapped, mouth_gap_dst  mean inner-lip gap / inter-ocular distance of the swapped and dst's faces
mouth_gap_error          mean |swapped gap - dst's gap|
closed_mouth_opened_share  share of dst's closed mouths (gap < MOUTH_CLOSED_GAP) drawn open (> MOUTH_OPEN_GAP)
mouth_gap_frames         up to 10 frames whose gaps differ most; ``mouth_frames`` the faces measured
keep_mouth, keep_lips    whether the swap kept dst's mouth opening and dst's closed lips (``SwapConfig``): with
                         ``keep_lips`` a closed dst mouth shows dst's own lips, so it is not drawn open
shut_eye_opened_share    share of dst's shut eyes (Face Mesh fill <= EYE_SHUT_FILL, 0.03) that the swapped face shows
                         open (fill >= EYE_OPEN_FILL, 0.08); NaN where dst never shuts an eye. ``shut_eyes_dst`` counts
                         them; ``shut_eye_opened_frames``, up to 10 frames where one opened. With ``keep_eyes`` the
                         swap keeps dst's shut eyes and their lids

Motion

pose_found_share         share of swapped frames (of up to 96) where MTCNN finds the face at all
pose_error_iod           landmark error between the swapped face (MTCNN's ONet on dst's face box) and
                         the original dst face / inter-ocular distance: pose and expression preserved
dst_turned_past_src_share  share of dst's faces whose head turn (nose offset from the eye midpoint,
                         ``pose_match.yaw_offsets``) goes past every face's of src's face set and its
                         mirror image's: frames where the src decoder must render a turn it never saw, the
                         usual cause of a large, constant pose error
flicker_*                mean |frame_t - frame_t-1| inside dst's face box (0-255), swapped, original,
                         and their ratio

Training

match_pose               the share of src's draws the model trained with matched to dst's head turns
                         (``--match-pose``, chosen from the turns by default; see pose_match)

Judges

facenet_blind            false when the model was trained with the identity loss (FaceNet's cosine to
                         src was a training term): FaceNet's acceptance is then not an independent
                         judgement, dlib-ResNet's still is; ``judges_note`` says so
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from swaplab.core.fileio import write_json_atomic
from swaplab.core.media import iter_frames, probe, read_image
from swaplab.datasets.manifest import FaceRecord, check_relative_path, faces_only, load_mesh, read_manifest
from swaplab.datasets.outputs import SwapOutput
from swaplab.faces.backends import FR_BACKENDS, mean_template
from swaplab.faces.detector import Detection, FaceDetector
from swaplab.faces.embed import embed_records, manifest_faces
from swaplab.faces.align import apply
from swaplab.faces.eyes import eye_likeness, eye_patches
from swaplab.faces.mesh import (EYE_OPEN_FILL, EYE_SHUT_FILL, MOUTH_CLOSED_GAP, MOUTH_OPEN_GAP, FaceMesh,
                                eye_fills, mouth_openings)
from swaplab.generate.colour import masked_low_band
from swaplab.generate.pose_match import turned_past_src_share, yaw_offsets

FACENET_THRESHOLD = 0.41  # cosine, FaceNet's licit EER threshold on the talking-head pairs
DLIB_THRESHOLD = 0.904  # cosine of L2-normalised dlib-ResNet embeddings at the EER on real photo pairs
REALISM_FRAMES = 48
RING_PX = 5  # width of the rings inside and outside the mask edge
LOCAL_PX = 15  # window of the local mean colours compared across the edge
# colour_anomaly_share: chroma is smoothed first (4:2:0 video stores it at half resolution; blotches are
# tens of pixels wide), and a pixel counts where the relative a*b* of swap and original are farther apart
# than COLOUR_ANOMALY_DE, about 4x CIELAB's just-noticeable 2.3. On the lp_d12 (lp_d20) probes: plain swaps
# 5.3-5.7 % (0.9 %) of the interior, identity-loss swaps with visible blotches 9.7-14.5 % (5.6 %); at 8 the
# plain swaps' blur and pale lips weigh more, at 15 too few pixels are left
CHROMA_SIGMA_PX = 2.0
SHADING_SHARE = 1 / 16  # shading_delta_l's sigma, a share of the square root of the face's area in the frame
COLOUR_ANOMALY_DE = 10.0
# broken_eye_share: an eye counts as broken below this likeness to real eyes. Measured on two lq runs of this
# code: vr_2 -> lp_s18, whose eyes are a red swirl and a dark hole in every frame, 0.17 on average (98 % of
# faces below 0.3); vr_2 -> lp_d12, soft but whole eyes, 0.75 (one face below 0.3, frame 172, an eye smeared)
EYE_LIKENESS_FLOOR = 0.3
BROKEN_EYE_FRAMES_LISTED = 10
OWN_FRAMES = 5  # dst's eyes this many frames either side of a swapped face are left out of its bank
# `generate run` warns above these: broken eyes in more faces than vr_2 -> lp_d12's 0.5 % (one smeared
# eye); dst turned past src in as many frames as vr_2 -> lp_s18 (28 %), where --match-pose 0.5 took the
# pose error from 0.156 to 0.093 (README)
BROKEN_EYE_WARNING = 0.05
TURNED_PAST_WARNING = 0.2
# mouth figures: closed and open as ``mesh.MOUTH_CLOSED_GAP`` and ``MOUTH_OPEN_GAP`` (0.02 and 0.04 IOD); the swaps of
# vr_2 and vr_5 into lp_s18 drew lips parted by 0.05-0.07 over closed ones, visibly open and dark (README). The
# mouth's and the shut eyes' figures each list up to this many frames.
OPENING_FRAMES_LISTED = 10


def _dlib_rates(fakes: list, dst: list, src: list, device: str) -> dict[str, float]:
    if "dlib" not in FR_BACKENDS.names():
        return {}
    backend = FR_BACKENDS.get("dlib", device=device)
    template = mean_template(embed_records(backend, src, label="quality src"))
    rates = {}
    for name, rows in (("dlib", fakes), ("dlib_dst", dst)):
        similarity = embed_records(backend, rows, label=f"quality {name}") @ template
        rates[f"{name}_accept_rate"] = float(np.mean(similarity >= DLIB_THRESHOLD))
        rates[f"{name}_similarity_to_src"] = float(similarity.mean())
    return rates


def identity_figures(fakes: Path, dst_faces: Path, src_faces: Path, device: str = "auto") -> dict[str, float]:
    """FaceNet similarity to src and dst, the share retrieved as src, FaceNet (and dlib) acceptance as src."""
    backend = FR_BACKENDS.get("facenet", device=device)
    fake_rows, src_rows = manifest_faces(fakes), manifest_faces(src_faces, step=3)
    # each fake keeps the frame index and 2x3 transform of the dst face it replaced
    by_face = {(r.frame_index, r.matrix): (r, m) for r, m in manifest_faces(dst_faces)}
    fake_rows = [row for row in fake_rows if (row[0].frame_index, row[0].matrix) in by_face]
    dst_rows = [by_face[(r.frame_index, r.matrix)] for r, _ in fake_rows]
    fake_emb = embed_records(backend, fake_rows, label="quality fakes")
    dst_emb = embed_records(backend, dst_rows, label="quality dst")
    src_template = mean_template(embed_records(backend, src_rows, label="quality src"))
    dst_template = mean_template(dst_emb)
    to_src, to_dst_template = fake_emb @ src_template, fake_emb @ dst_template
    return {"similarity_to_src": float(to_src.mean()),
            "similarity_to_dst": float(np.mean(np.sum(fake_emb * dst_emb, axis=1))),
            "similarity_dst_to_src": float((dst_emb @ src_template).mean()),
            "retrieval_src_share": float(np.mean(to_src > to_dst_template)),
            "facenet_accept_rate": float(np.mean(to_src >= FACENET_THRESHOLD)),
            "facenet_dst_accept_rate": float(np.mean(dst_emb @ src_template >= FACENET_THRESHOLD)),
            "frames": len(fake_emb), **_dlib_rates(fake_rows, dst_rows, src_rows, device)}


def _face_eyes(record: FaceRecord, manifest: Path, points: np.ndarray) -> np.ndarray:
    """(2, D) eye patches of one row's crop, cut at Face Mesh ``points`` (478, 2) in frame pixels."""
    crop = read_image(check_relative_path(record.crop_path, manifest))
    return eye_patches(crop, apply(record.matrix_array, points))  # frame -> crop pixels


def _mesh(record: FaceRecord, manifest: Path) -> np.ndarray | None:
    """:func:`load_mesh`, or None where the sidecar is gone (study manifests written before their mesh paths
    were rebased point at none)."""
    try:
        return load_mesh(record, manifest)
    except FileNotFoundError:
        return None


def faces_with_dst_mesh(fakes: Path, dst_faces: Path) -> Iterator[tuple[FaceRecord, FaceRecord, np.ndarray]]:
    """(fake row, dst's row of the same face, dst's Face Mesh (478, 2) in frame pixels) for every swapped face
    whose dst face has a mesh; fakes share dst's frame index and transform."""
    dst_by_face = {(r.frame_index, r.matrix): r for r in faces_only(read_manifest(dst_faces))}
    for fake in faces_only(read_manifest(fakes)):
        dst = dst_by_face.get((fake.frame_index, fake.matrix))
        points = _mesh(dst, dst_faces) if dst is not None else None
        if points is not None:
            yield fake, dst, points


def src_eye_bank(src_faces: Path, step: int = 2) -> np.ndarray:
    """(M, D) eye patches of every ``step``-th face of src's face set that has a mesh (both eyes each)."""
    patches = [_face_eyes(r, src_faces, points) for r in faces_only(read_manifest(src_faces))[::step]
               if (points := _mesh(r, src_faces)) is not None]
    return np.concatenate(patches) if patches else np.zeros((0, 0), np.float32)


def _likeness_to_real_eyes(swapped: np.ndarray, frames: np.ndarray, src_bank: np.ndarray,
                           original: np.ndarray) -> np.ndarray:
    """(N,) each swapped face's less real-looking eye: eyes (N, 2, D) against src's bank (M, D) and dst's original
    eyes (N, 2, D), leaving out dst's eyes within OWN_FRAMES of the face's own frame (dst's texture added to
    the swap would make them match a face whose eye is gone)."""
    dst_bank, dst_frames = original.reshape(-1, original.shape[-1]), np.repeat(frames, 2)
    likeness = np.empty(len(swapped))
    for i, eyes in enumerate(swapped):
        others = dst_bank[np.abs(dst_frames - frames[i]) > OWN_FRAMES]
        likeness[i] = eye_likeness(eyes, np.concatenate([src_bank, others])).min()
    return likeness


def eye_figures(fakes: Path, dst_faces: Path, src_faces: Path) -> dict:
    """How much each swapped face's eyes look like real eyes of src and dst (module docstring).

    Both the swapped and dst's original eyes are cut at dst's mesh (the swap keeps dst's pose). A swapped
    face counts by its less real-looking eye, against a bank of src's eyes (every other face of its set)
    and dst's eyes (the swapped frames' originals but those near the face's own frame: dst's gaze and
    blinks, which src may never show). It judges the eyes shown: where the swap kept dst's eye openings
    (``SwapConfig.keep_eyes``, the default) that is dst's iris and whites inside the swap's lids, so a model that
    draws no eye there no longer shows a broken one.
    Empty when src's face set or dst's faces have no meshes.
    """
    src_bank = src_eye_bank(src_faces)
    if not len(src_bank):
        return {}
    frames, swapped, original = [], [], []
    for fake, dst, points in faces_with_dst_mesh(fakes, dst_faces):
        frames.append(fake.frame_index)
        swapped.append(_face_eyes(fake, fakes, points))
        original.append(_face_eyes(dst, dst_faces, points))
    if not frames:
        return {}
    likeness = _likeness_to_real_eyes(np.stack(swapped), np.array(frames), src_bank, np.stack(original))
    broken = np.flatnonzero(likeness < EYE_LIKENESS_FLOOR)
    worst = broken[np.argsort(likeness[broken])][:BROKEN_EYE_FRAMES_LISTED]
    return {"eye_likeness_swapped": float(likeness.mean()),
            "eye_likeness_dst": float(np.mean([eye_likeness(eyes, src_bank).min() for eyes in original])),
            "broken_eye_share": len(broken) / len(frames), "broken_eye_frames": [frames[i] for i in worst],
            "eye_frames": len(frames)}


def _face_near(detector: FaceDetector, image: np.ndarray, original: FaceRecord) -> Detection | None:
    """The face at dst's box: ONet on the box, else the detection nearest dst's landmarks."""
    truth = original.landmarks_array
    found = detector.track(image, Detection(np.asarray(original.bbox), 1.0, truth))
    if found is not None:
        return found
    detections = detector.detect(image[None])[0]
    return min(detections, key=lambda d: np.linalg.norm(d.landmarks - truth)) if detections else None


def pose_error(video: Path, dst_records: dict[int, FaceRecord], device: str = "auto",
               frames: int = 96) -> dict[str, float]:
    """Mean landmark error / inter-ocular distance between swapped frames and dst's landmarks.

    On up to ``frames`` frames spread over the video. The swapped face's landmarks come from
    MTCNN's last stage (ONet, as extraction tracks faces) run on dst's face box, or where ONet
    finds no face there, from full MTCNN (the detection nearest dst's landmarks). Returns
    ``pose_error_iod`` (NaN when no face is found in any swapped frame) and ``pose_found_share``
    (share of the measured frames where the swapped face is found at all).
    """
    detector, errors, tried = FaceDetector(device=device), [], 0
    stride = max(1, len(dst_records) // frames)
    for frame in iter_frames(video):
        original = dst_records.get(frame.index)
        if original is None or frame.index % stride:
            continue
        truth, tried = original.landmarks_array, tried + 1
        found = _face_near(detector, frame.image, original)
        if found is not None:
            inter_ocular = np.linalg.norm(truth[1] - truth[0])
            errors.append(np.linalg.norm(found.landmarks - truth, axis=1).mean() / inter_ocular)
    return {"pose_error_iod": float(np.mean(errors)) if errors else float("nan"),
            "pose_found_share": len(errors) / tried if tried else float("nan")}


def turned_past_src(src_faces: Path, dst_records: dict[int, FaceRecord]) -> float:
    """:func:`pose_match.turned_past_src_share` of the swapped dst faces against src's face manifest."""
    def yaws(records: list[FaceRecord]) -> torch.Tensor:
        points = [r.landmarks_array for r in records]
        return yaw_offsets(torch.tensor(np.stack(points), dtype=torch.float64)) if points else torch.zeros(0)

    src = faces_only(read_manifest(src_faces))  # a face set: the faces training drew from
    return turned_past_src_share(yaws(src), yaws(list(dst_records.values())))


def _face_box_mask(record: FaceRecord | None, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    if record is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in record.bbox)
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return mask


def flicker(video: Path, original: Path, dst_records: dict[int, FaceRecord]) -> dict[str, float]:
    """Mean |frame_t - frame_t-1| inside dst's face box (both frames), swapped vs original."""
    changes: dict[str, list[float]] = {"swapped": [], "original": []}
    previous: dict[str, np.ndarray] = {}
    for swapped, source in zip(iter_frames(video), iter_frames(original), strict=True):
        mask = _face_box_mask(dst_records.get(swapped.index), swapped.image.shape[:2])
        for name, frame in (("swapped", swapped.image), ("original", source.image)):
            current = frame.astype(np.float32)
            if name in previous and mask.any():
                changes[name].append(float(np.abs(current - previous[name])[mask].mean()))
            previous[name] = current
    swapped_mean, original_mean = (float(np.mean(v)) if v else float("nan") for v in changes.values())
    return {"flicker_swapped": swapped_mean, "flicker_original": original_mean,
            "flicker_ratio": swapped_mean / original_mean if original_mean else float("nan")}


@dataclass(frozen=True)
class Regions:
    """Boolean (H, W) regions of one frame's blend mask."""

    interior: np.ndarray  # mask >= 0.99
    inside: np.ndarray  # ring of RING_PX just inside the mask edge (mask >= 0.5)
    outside: np.ndarray  # ring of RING_PX just outside it (mask < 0.5)
    transition: np.ndarray  # 0.2 <= mask <= 0.8
    edge: np.ndarray  # the mask's 0.5 contour, one pixel wide

    @classmethod
    def of(cls, mask: np.ndarray) -> Regions:
        """Regions of a blend mask (H, W) float in [0, 1]."""
        face = (mask >= 0.5).astype(np.uint8)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING_PX + 1,) * 2)
        inner = cv2.erode(face, kernel).astype(bool)
        outer = cv2.dilate(face, kernel).astype(bool)
        edge = face.astype(bool) & ~cv2.erode(face, np.ones((3, 3), np.uint8)).astype(bool)
        return cls(mask >= 0.99, face.astype(bool) & ~inner, outer & ~face.astype(bool),
                   (mask >= 0.2) & (mask <= 0.8), edge)


def _laplacian_variance(image: np.ndarray, region: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F, ksize=3)[region].var())


def _edge_jump(image: np.ndarray, regions: Regions) -> float:
    """Mean RGB distance between the local mean colours just inside and just outside the mask edge."""
    means = []
    for ring in (regions.inside, regions.outside):
        weight = cv2.blur(ring.astype(np.float32), (LOCAL_PX, LOCAL_PX))
        total = cv2.blur(image.astype(np.float32) * ring[..., None], (LOCAL_PX, LOCAL_PX))
        means.append(total / np.maximum(weight, 1e-6)[..., None])
    valid = regions.edge & (cv2.blur(regions.outside.astype(np.float32), (LOCAL_PX, LOCAL_PX)) > 0)
    return float(np.linalg.norm(means[0] - means[1], axis=2)[valid].mean()) if valid.any() else float("nan")


def _gradient(image: np.ndarray, region: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    magnitude = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return float(magnitude[region].mean())


def _delta_e(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    lab = [cv2.cvtColor(x.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[region] for x in (a, b)]
    return float(np.linalg.norm(lab[0] - lab[1], axis=1).mean())


def _window(region: np.ndarray, pad: int) -> tuple[slice, slice]:
    """The box around ``region`` (H, W) bool's pixels, grown by ``pad`` px (within the frame)."""
    rows, cols = np.nonzero(region)
    top, left = max(rows.min() - pad, 0), max(cols.min() - pad, 0)
    return slice(top, rows.max() + pad + 1), slice(left, cols.max() + pad + 1)


def _relative_chroma(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Smoothed CIELAB a*b* of ``region``'s pixels (N, 2) minus their median: colour without the overall tint."""
    window = _window(region, int(3 * CHROMA_SIGMA_PX) + 1)
    lab = cv2.cvtColor(image[window].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    chroma = cv2.GaussianBlur(lab[..., 1:], (0, 0), CHROMA_SIGMA_PX)[region[window]]
    return chroma - np.median(chroma, axis=0)


def _colour_anomaly(swapped: np.ndarray, original: np.ndarray, region: np.ndarray) -> float:
    """Share of ``region`` (H, W) bool where the frames' relative a*b* differ by more than COLOUR_ANOMALY_DE."""
    departure = _relative_chroma(swapped, region) - _relative_chroma(original, region)
    return float(np.mean(np.linalg.norm(departure, axis=1) > COLOUR_ANOMALY_DE))


def _shading_departure(swapped: np.ndarray, original: np.ndarray, region: np.ndarray, face_side: float) -> float:
    """Mean absolute difference of the frames' relative low-band L* (see ``shading_delta_l``) over ``region`` (H, W)
    bool, the band's sigma ``SHADING_SHARE`` of ``face_side`` px."""
    sigma = max(1.0, SHADING_SHARE * face_side)
    window = _window(region, int(3 * sigma) + 1)
    inside = region[window]
    lightness = [cv2.cvtColor(image[window].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[..., 0]
                 for image in (swapped, original)]
    bands = masked_low_band(np.stack(lightness, axis=-1), inside.astype(np.float32), sigma)[inside]  # (N, 2)
    relative = bands - np.median(bands, axis=0)
    return float(np.abs(relative[:, 0] - relative[:, 1]).mean())


@dataclass
class RealismSums:
    """Per-measure sums over frames: swapped and original values (ratios are of sums)."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        if np.isfinite(value):
            self.values.setdefault(name, []).append(value)

    def total(self, name: str) -> float:
        return float(np.sum(self.values[name])) if name in self.values else float("nan")

    def mean(self, name: str) -> float:
        return float(np.mean(self.values[name])) if name in self.values else float("nan")


def measure_frame(sums: RealismSums, swapped: np.ndarray, original: np.ndarray, mask: np.ndarray) -> None:
    """Add one frame's realism measures (frames (H, W, 3) uint8, blend mask (H, W) float in [0, 1])."""
    regions = Regions.of(mask)
    if regions.interior.sum() < 64 or not regions.inside.any() or not regions.outside.any():
        return
    for name, image in (("swapped", swapped), ("original", original)):
        sums.add(f"sharp_{name}", _laplacian_variance(image, regions.interior))
        sums.add(f"jump_{name}", _edge_jump(image, regions))
        if regions.transition.any():
            sums.add(f"gradient_{name}", _gradient(image, regions.transition))
    sums.add("fringe", _delta_e(swapped, original, regions.inside))
    sums.add("colour_anomaly", _colour_anomaly(swapped, original, regions.interior))
    sums.add("shading", _shading_departure(swapped, original, regions.interior, float(np.sqrt((mask >= 0.5).sum()))))
    interior = regions.interior & ~regions.inside
    if interior.any():
        sums.add("interior", _delta_e(swapped, original, interior))


def _ratio(sums: RealismSums, name: str) -> float:
    original = sums.total(f"{name}_original")
    return sums.total(f"{name}_swapped") / original if original > 0 else float("nan")


def realism_figures(video: Path, original: Path, mask_of: Callable[[int], np.ndarray | None],
                    frames: int = REALISM_FRAMES) -> dict[str, float]:
    """Sharpness, seam, fringe and colour-anomaly figures (see the module docstring) on ``frames`` frames spread over the video.

    ``mask_of(index)`` gives a frame's blend mask as (H, W) float in [0, 1], or None.
    """
    sums, stride = RealismSums(), max(1, probe(video).frame_count // frames)
    for swapped, source in zip(iter_frames(video), iter_frames(original), strict=True):
        mask = mask_of(swapped.index) if swapped.index % stride == 0 else None
        if mask is not None:
            measure_frame(sums, swapped.image, source.image, mask)
    return realism_from(sums)


def realism_from(sums: RealismSums) -> dict[str, float]:
    """The realism figures of ``quality.json`` from per-frame measures."""
    fringe, interior = sums.mean("fringe"), sums.mean("interior")
    return {"sharpness_ratio": _ratio(sums, "sharp"), "seam_colour_ratio": _ratio(sums, "jump"),
            "seam_gradient_ratio": _ratio(sums, "gradient"), "fringe_delta_e": fringe,
            "interior_delta_e": interior, "fringe_ratio": fringe / interior if interior > 0 else float("nan"),
            "colour_anomaly_share": sums.mean("colour_anomaly"), "shading_delta_l": sums.mean("shading"),
            "realism_frames": len(sums.values.get("fringe", []))}


def _mask_reader(output: SwapOutput) -> Callable[[int], np.ndarray | None]:
    def mask_of(index: int) -> np.ndarray | None:
        path = output.mask(index)
        return read_image(path)[..., 0].astype(np.float32) / 255 if path.is_file() else None

    return mask_of


def _provenance(output: SwapOutput) -> dict:
    """The swap's provenance sidecar: its resolved config (``config``) and the model's metadata (``model``); {}
    without one."""
    return json.loads(output.provenance.read_text()) if output.provenance.exists() else {}


def _model_meta(output: SwapOutput) -> dict:
    """The model's metadata, as the swap's provenance carries it ({} without one)."""
    return _provenance(output).get("model", {})


def trained_match_pose(output: SwapOutput) -> dict:
    """The pose-match share the model trained with (``match_pose``; absent for a model that did not record it)."""
    share = _model_meta(output).get("match_pose")
    return {} if share is None else {"match_pose": share}


def mesh_openings(fakes: Path, dst_faces: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames (N,), swapped (N, 3), dst's (N, 3)): of every swapped face where Face Mesh finds it on the fake's
    crop, its inner-lip gap / inter-ocular distance and its right and left eye's fill (``mesh.eye_fills``), and the
    same of dst's face in that frame (its manifest's mesh, moved into dst's aligned crop as the swapped face's
    crop is aligned: a fill's width is the eye's extent along the crop's axes)."""
    face_mesh, found = FaceMesh(), []
    try:
        for fake, dst, points in faces_with_dst_mesh(fakes, dst_faces):
            swapped = face_mesh.crop_landmarks(read_image(check_relative_path(fake.crop_path, fakes)))
            if swapped is not None:
                dst_points = apply(dst.matrix_array, points)
                found.append((fake.frame_index, *_openings(swapped), *_openings(dst_points)))
    finally:
        face_mesh.close()
    table = np.array(found, dtype=np.float64).reshape(-1, 7)  # frame, swapped (gap, fills), dst's (gap, fills)
    return table[:, 0].astype(int), table[:, 1:4], table[:, 4:7]


def _openings(points: np.ndarray) -> tuple[float, float, float]:
    """One face's inner-lip gap / IOD and its two eyes' fills, from its Face Mesh (478, 2+)."""
    return (float(mouth_openings(points)[0]), *(float(fill) for fill in eye_fills(points)))


def mouth_figures(frames: np.ndarray, swapped: np.ndarray, original: np.ndarray) -> dict:
    """Whether the swapped mouth opens as dst's does, from the inner-lip gaps (N,) of the swapped faces and of dst's
    in ``frames`` (N,) (:func:`mesh_openings`): mean gaps, their mean absolute difference, the share of dst's
    closed mouths (gap < ``MOUTH_CLOSED_GAP``) drawn open (> ``MOUTH_OPEN_GAP``; NaN without a closed one), and
    the frames that differ most. Empty without faces."""
    if not len(frames):
        return {}
    error = np.abs(swapped - original)
    closed = original < MOUTH_CLOSED_GAP
    opened = float(np.mean(swapped[closed] > MOUTH_OPEN_GAP)) if closed.any() else float("nan")
    return {"mouth_gap_swapped": float(swapped.mean()), "mouth_gap_dst": float(original.mean()),
            "mouth_gap_error": float(error.mean()), "closed_mouth_opened_share": opened,
            "mouth_gap_frames": [int(i) for i in frames[np.argsort(-error)][:OPENING_FRAMES_LISTED]],
            "mouth_frames": int(len(frames))}


def shut_eye_figures(frames: np.ndarray, swapped: np.ndarray, original: np.ndarray) -> dict:
    """Whether dst's shut eyes stay shut, from the eye fills (N, 2) of the swapped faces and of dst's in ``frames``
    (N,) (:func:`mesh_openings`): the share of dst's shut eyes (fill <= ``EYE_SHUT_FILL``) the swap shows open
    (>= ``EYE_OPEN_FILL``; NaN without a shut one), how many there were, and the first frames where one opened.
    Empty without faces."""
    if not len(frames):
        return {}
    shut = original <= EYE_SHUT_FILL
    opened = shut & (swapped >= EYE_OPEN_FILL)
    return {"shut_eye_opened_share": float(opened.sum() / shut.sum()) if shut.any() else float("nan"),
            "shut_eyes_dst": int(shut.sum()),
            "shut_eye_opened_frames": [int(i) for i in frames[opened.any(axis=1)][:OPENING_FRAMES_LISTED]]}


def opening_figures(fakes: Path, dst_faces: Path) -> dict:
    """:func:`mouth_figures` and :func:`shut_eye_figures` of one swap's fake faces, from one Face Mesh pass."""
    frames, swapped, original = mesh_openings(fakes, dst_faces)
    return {**mouth_figures(frames, swapped[:, 0], original[:, 0]),
            **shut_eye_figures(frames, swapped[:, 1:], original[:, 1:])}


def kept_parts(output: SwapOutput) -> dict:
    """Which of dst's own parts the swap kept (``keep_mouth``, ``keep_eyes``, ``keep_lips``, from the config its
    provenance carries): with ``keep_eyes`` the eye figures judge dst's own eyes inside the swap's lids, with
    ``keep_lips`` the mouth figures see dst's own closed lips, not the model's drawing of them. A setting the swap
    did not record (a swap from before it) is left out."""
    config = _provenance(output).get("config", {})
    return {key: bool(config[key]) for key in ("keep_mouth", "keep_eyes", "keep_lips") if key in config}


def judges(output: SwapOutput) -> dict:
    """Whether FaceNet judges this fake blindly: not when its model trained with the identity loss
    (read from the swap's provenance, which carries the model's metadata)."""
    if not _model_meta(output).get("identity_loss"):
        return {"facenet_blind": True}
    return {"facenet_blind": False,
            "judges_note": "trained with FaceNet's identity loss: facenet_accept_rate is not an independent "
                           "judgement; dlib_accept_rate is"}


def warnings(figures: dict) -> list[str]:
    """What a user should look at in one ``quality.json`` (its figures), one sentence each."""
    lines = []
    if figures.get("broken_eye_share", 0) > BROKEN_EYE_WARNING:
        frames = ", ".join(str(i) for i in figures["broken_eye_frames"])
        lines.append(f"an eye of the swapped face looks like no real eye (likeness < {EYE_LIKENESS_FLOOR}) in "
                     f"{figures['broken_eye_share']:.0%} of the faces; look at frames {frames}")
    if figures.get("dst_turned_past_src_share", 0) > TURNED_PAST_WARNING and not figures.get("match_pose"):
        lines.append(f"dst turns its head further than any src face in {figures['dst_turned_past_src_share']:.0%} "
                     "of the frames: train with --match-pose 0.5, or give src footage with such turns")
    return lines


def write_quality(output: SwapOutput, dst: Path, src_faces: Path, dst_faces: Path, device: str = "auto") -> Path:
    """Measure one swapped video (``dst_faces``: the dst manifest the swap used) and write ``quality.json``."""
    figures = identity_figures(output.fakes.manifest, dst_faces, src_faces, device)
    dst_records = {r.frame_index: r for r in read_manifest(output.fakes.manifest) if r.has_face}
    figures.update(pose_error(output.video, dst_records, device))
    figures["dst_turned_past_src_share"] = turned_past_src(src_faces, dst_records)
    figures.update(flicker(output.video, dst, dst_records))
    figures.update(realism_figures(output.video, dst, _mask_reader(output)))
    figures.update(eye_figures(output.fakes.manifest, dst_faces, src_faces))
    figures.update(opening_figures(output.fakes.manifest, dst_faces))
    figures.update(judges(output))
    figures.update(trained_match_pose(output))
    figures.update(kept_parts(output))
    write_json_atomic(output.quality, figures)
    return output.quality
