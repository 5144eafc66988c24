"""Stage ``extract``: video -> aligned face crops + face manifest.

Three passes over each input, so that memory stays flat for long videos:

1. full MTCNN on every ``detect_every``-th frame (batched); keyframe faces
   are linked into tracks and one track is chosen;
2. every frame gets the chosen face: the keyframe detection, or ONet
   tracking from the previous frame (full detection again if it is lost);
   optional temporal smoothing of the landmarks;
3. each face is aligned to the 5-point template, cropped and written; every
   frame gets a manifest row, with ``has_face = 0`` where no face was found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swaplab.core.config import save_config
from swaplab.datasets.manifest import (NAN_BOX, NAN_LANDMARKS, NAN_MATRIX, FaceRecord,
                                       write_manifest)
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import require_input_file, require_writable_dir, sha256_of
from swaplab.faces import align
from swaplab.faces.detector import Detection, FaceDetector, iou
from swaplab.faces.tracks import LINK_IOU, Track, choose_track, link_tracks, smooth_landmarks
from swaplab.core.media import MediaInfo, iter_frames, probe, write_image
from swaplab.core.progress import track as progress

MANIFEST_NAME = "faces.csv"


@dataclass(frozen=True)
class ExtractConfig:
    """Settings of ``swaplab generate extract``.

    ``identity`` defaults to each input's file (or folder) name;
    ``detect_every`` = 1 runs full MTCNN on every frame; ``smooth`` is the
    landmark smoothing window in frames (0 = off).
    """

    inputs: tuple[Path, ...]
    out: Path
    identity: str | None = None
    crop_size: int = 256
    face_type: str = "whole_face"
    detect_every: int = 4
    min_face_size: int = 40
    batch_size: int = 8
    smooth: int = 0
    identity_ref: Path | None = None
    image_format: str = "png"
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.crop_size not in align.CROP_SIZES:
            raise SwaplabError(f"crop size {self.crop_size} not supported; choose one of {align.CROP_SIZES}")
        align.face_type(self.face_type)
        if self.detect_every < 1 or self.batch_size < 1 or self.smooth < 0:
            raise SwaplabError("detect_every and batch_size must be >= 1, smooth >= 0")
        if self.image_format not in ("png", "jpg"):
            raise SwaplabError(f"image format {self.image_format!r}: choose png or jpg")
        if not self.inputs:
            raise SwaplabError("no input given")


@dataclass(frozen=True)
class FrameFace:
    """The face kept for one frame, and where its landmarks came from."""

    detection: Detection
    source: str


class Extractor:
    """Runs the three passes for one input at a time; shares one detector."""

    def __init__(self, config: ExtractConfig) -> None:
        self.config = config
        self.detector = FaceDetector(min_face_size=config.min_face_size, device=config.device)
        self.reference = _reference_embedding(config.identity_ref, self.detector) if config.identity_ref else None

    def extract(self, source: Path) -> list[FaceRecord]:
        """All manifest rows of one input; crops are written under ``out/crops/<video_id>``."""
        info = probe(require_input_file(source))
        keyframes, crops = self._detect_keyframes(info)
        tracks = link_tracks(keyframes)
        if not tracks:
            raise SwaplabError(f"{source}: no face found in any of {info.frame_count} frames")
        chosen, rule = choose_track(tracks, self._similarity(crops) if self.reference is not None else None)
        faces = self._follow(info, chosen)
        faces = self._smooth(faces)
        return self._write_crops(info, faces, rule)

    def _detect_keyframes(self, info: MediaInfo) -> tuple[list[tuple[int, list[Detection]]], dict]:
        keyframes: list[tuple[int, list[Detection]]] = []
        crops: dict[tuple[int, int], np.ndarray] = {}
        batch: list = []
        for frame in progress(iter_frames(info.path, info), f"detect {info.path.name}", info.frame_count):
            if frame.index % self.config.detect_every == 0:
                batch.append(frame)
            if len(batch) == self.config.batch_size:
                keyframes += self._detect_batch(batch, crops)
                batch = []
        if batch:
            keyframes += self._detect_batch(batch, crops)
        return keyframes, crops

    def _detect_batch(self, batch: list, crops: dict) -> list[tuple[int, list[Detection]]]:
        found = self.detector.detect(np.stack([frame.image for frame in batch]))
        if self.reference is not None:
            from swaplab.faces.facenet import facenet_crop

            for frame, detections in zip(batch, found, strict=True):
                for det in detections:
                    crops[(frame.index, id(det))] = facenet_crop(frame.image, det.box)
        return [(frame.index, detections) for frame, detections in zip(batch, found, strict=True)]

    def _similarity(self, crops: dict):
        embedder = _facenet()

        def score(track: Track) -> float:
            best = sorted(track.faces.items(), key=lambda item: -item[1].score)[:3]
            faces = np.stack([crops[(index, id(det))] for index, det in best])
            return float(np.mean(embedder.embed(faces) @ self.reference))

        return score

    def _follow(self, info: MediaInfo, chosen: Track) -> list[FrameFace | None]:
        faces: list[FrameFace | None] = []
        previous: Detection | None = None
        for frame in iter_frames(info.path, info):
            face = self._face_in(frame.index, frame.image, chosen, previous)
            faces.append(face)
            previous = face.detection if face else None
        return faces

    def _face_in(self, index: int, image: np.ndarray, chosen: Track, previous: Detection | None) -> FrameFace | None:
        if index in chosen.faces:
            return FrameFace(chosen.faces[index], "detected")
        if previous is not None:
            tracked = self.detector.track(image, previous)
            if tracked is not None:
                return FrameFace(tracked, "tracked")
        anchor = previous or self._nearest_keyframe_face(chosen, index)
        if anchor is None:
            return None
        candidates = self.detector.detect(image[None])[0]
        best = max(candidates, key=lambda det: iou(det.box, anchor.box), default=None)
        if best is not None and iou(best.box, anchor.box) >= LINK_IOU:
            return FrameFace(best, "detected")
        return None

    def _nearest_keyframe_face(self, chosen: Track, index: int) -> Detection | None:
        """The chosen track's detection on the closest keyframe, if one lies within the detection stride."""
        near = [k for k in chosen.faces if abs(k - index) < self.config.detect_every]
        return chosen.faces[min(near, key=lambda k: abs(k - index))] if near else None

    def _smooth(self, faces: list[FrameFace | None]) -> list[FrameFace | None]:
        if self.config.smooth <= 1:
            return faces
        points = np.array([f.detection.landmarks if f else np.full((5, 2), np.nan) for f in faces])
        smoothed = smooth_landmarks(points, self.config.smooth)
        return [FrameFace(Detection(f.detection.box, f.detection.score, smoothed[t]), "smoothed") if f else None
                for t, f in enumerate(faces)]

    def _write_crops(self, info: MediaInfo, faces: list[FrameFace | None], rule: str) -> list[FaceRecord]:
        cfg = self.config
        video_id = _video_id(info.path)
        identity = cfg.identity or video_id
        common = dict(identity=identity, video_id=video_id, source_path=str(info.path),
                      source_sha256=sha256_of(info.path) if info.path.is_file() else "",
                      crop_size=cfg.crop_size, face_type=cfg.face_type, template=align.TEMPLATE_NAME,
                      frame_width=info.width, frame_height=info.height,
                      detector=f"{self.detector.describe()}, every={cfg.detect_every}, onet-tracking",
                      selection=rule)
        records = []
        for frame in progress(iter_frames(info.path, info), f"crop {info.path.name}", info.frame_count):
            face = faces[frame.index] if frame.index < len(faces) else None
            records.append(self._record(frame, face, video_id, common))
        return records

    def _record(self, frame, face: FrameFace | None, video_id: str, common: dict) -> FaceRecord:
        if face is None:
            return FaceRecord(crop_path="", frame_index=frame.index, timestamp=frame.timestamp, has_face=False,
                              bbox=NAN_BOX, landmarks=NAN_LANDMARKS, matrix=NAN_MATRIX, det_score=0.0,
                              landmark_source="none", **common)
        det = face.detection
        matrix = align.alignment_matrix(det.landmarks, self.config.crop_size, self.config.face_type)
        relative = f"crops/{video_id}/{frame.index:06d}.{self.config.image_format}"
        write_image(self.config.out / relative, align.crop(frame.image, matrix, self.config.crop_size))
        return FaceRecord(crop_path=relative, frame_index=frame.index, timestamp=frame.timestamp, has_face=True,
                          bbox=tuple(float(v) for v in det.box),
                          landmarks=tuple((float(x), float(y)) for x, y in det.landmarks),
                          matrix=tuple(tuple(float(v) for v in row) for row in matrix),
                          det_score=det.score, landmark_source=face.source, **common)


def _video_id(path: Path) -> str:
    return path.stem if path.is_file() else path.name


def _facenet():
    from swaplab.faces.backends import FR_BACKENDS

    return FR_BACKENDS.get("facenet")


def _reference_embedding(image_path: Path, detector: FaceDetector) -> np.ndarray:
    from swaplab.faces.facenet import facenet_crop
    from swaplab.core.media import read_image

    image = read_image(image_path)
    faces = detector.detect(image[None])[0]
    if not faces:
        raise SwaplabError(f"{image_path}: no face found in the identity reference image")
    largest = max(faces, key=lambda det: det.area)
    return _facenet().embed(facenet_crop(image, largest.box)[None])[0]


def run(config: ExtractConfig) -> Path:
    """Extract faces from every input into ``config.out``; return the manifest's path."""
    out = require_writable_dir(config.out)
    sources = [require_input_file(Path(p)) for p in config.inputs]
    for source in sources:
        probe(source)  # fail fast on a bad input before any work
    extractor = Extractor(config)
    records = [record for source in sources for record in extractor.extract(source)]
    save_config(config, out / "extract_config.json")
    return write_manifest(records, out / MANIFEST_NAME)
