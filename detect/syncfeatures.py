"""Per-video audio-visual features for the lip-sync detector, on a fixed 25 Hz time grid.

For each step of the grid (every 40 ms of the video's own timestamps):

* **mouth** (4): inner-lip gap, outer-lip gap, mouth width, inner-lip area, normalised by the inter-ocular
  distance (:func:`swaplab.faces.mesh.mouth_openings` on the 478-point Face Mesh of an aligned crop);
* **audio** (4 x 14): 13 MFCCs + log energy (:mod:`swaplab.detect.audio`) at 4 points inside the step.

Faces come either from a face manifest (its aligned crops) or straight from the video: Face Mesh in
MediaPipe's tracking mode on whole frames (one tracker per video, reset between videos); only where it
finds no face (small faces), MTCNN finds the largest face and the static mesh runs on its aligned crop.
Rows are NaN where there is no face or no audio. Extraction is the cost (about 3.5 ms of Face Mesh and
1-4 ms of decoding per frame); :func:`video_features` caches its result
per video file (sha256) and settings in an ``.npz``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path, sha256_of
from swaplab.core.media import iter_frames, probe, read_image
from swaplab.datasets.manifest import FaceRecord, check_relative_path, faces_only
from swaplab.detect import audio
from swaplab.faces import align, mesh

GRID_FPS = 25.0
AUDIO_PER_STEP = 4
CROP_SIZE = 192
FEATURES_VERSION = 2  # 1 - mouth (4) + audio 4 x (13 MFCC + log energy) on a 25 Hz grid
# 2 - mouth from Face Mesh in tracking mode on whole frames (crops only as a fallback)
N_MOUTH = 4


@dataclass(frozen=True)
class SyncFeatures:
    """One video's features on the grid: ``mouth`` (T, 4), ``audio`` (T, 56), float32, NaN where missing.

    ``times`` (T,) are the grid's stream times in seconds; ``video`` names the source.
    """

    video: str
    times: np.ndarray
    mouth: np.ndarray
    audio: np.ndarray

    @property
    def duration(self) -> float:
        return len(self.times) / GRID_FPS

    def part(self, start: int, stop: int) -> SyncFeatures:
        """Grid steps ``start:stop``."""
        return SyncFeatures(self.video, self.times[start:stop], self.mouth[start:stop], self.audio[start:stop])


def grid(first: float, last: float) -> np.ndarray:
    """Times from ``first`` to ``last`` (inclusive when on the grid) every 1 / GRID_FPS s, shape (T,)."""
    count = int(np.floor((last - first) * GRID_FPS + 1e-6)) + 1
    return first + np.arange(max(count, 0)) / GRID_FPS


def resample(values: np.ndarray, times: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Per-frame values (F, D) at frame times (F,) sampled at query times by the nearest frame shown
    (the last frame with time <= query), shape (Q, D)."""
    index = np.clip(np.searchsorted(times, query + 1e-6, side="right") - 1, 0, len(times) - 1)
    return values[index]


def five_points(points: np.ndarray) -> np.ndarray:
    """The 5 alignment points (image-left eye, image-right eye, nose tip, left and right mouth corner)
    from Face Mesh points (478, 2+), shape (5, 2)."""
    xy = np.asarray(points, np.float64)[:, :2]
    return np.stack([xy[list(mesh.RIGHT_EYE)].mean(0), xy[list(mesh.LEFT_EYE)].mean(0), xy[1],
                     xy[mesh.MOUTH_RIGHT], xy[mesh.MOUTH_LEFT]])


class VideoMesh:
    """Face Mesh in MediaPipe's video (tracking) mode on whole frames, for one video at a time.

    BlazeFace finds the face on the first frame, then each frame's landmarks give the next frame's region
    (about 3.5 ms a frame against about 11 ms for MTCNN-aligned crops in static mode). Call :meth:`reset`
    between videos: the tracker carries state from frame to frame.
    """

    def __init__(self, *, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence
        self._mesh = None

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """Points (478, 2) in frame pixels of the (one) tracked face of a frame (H, W, 3) uint8 RGB, or None."""
        if self._mesh is None:
            self._mesh = mesh.new_mediapipe_mesh(static=False, min_confidence=self.min_confidence)
        found = self._mesh.process(np.ascontiguousarray(image))
        if not found.multi_face_landmarks:
            return None
        height, width = image.shape[:2]
        points = np.array([(p.x, p.y) for p in found.multi_face_landmarks[0].landmark], dtype=np.float32)
        return points * np.array([width, height], dtype=np.float32)

    def reset(self) -> None:
        """Forget the tracked face (a new video starts)."""
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None


class MouthTracker:
    """Mouth openings per frame of a video: Face Mesh in tracking mode on whole frames; where it finds no
    face, MTCNN finds the largest face and the static Face Mesh runs on its aligned crop (small faces).
    ``tracking=False``: the crops only (MTCNN once, each frame's mesh aligns the next crop; 3x slower)."""

    def __init__(self, *, device: str = "cpu", redetect_every: int = 5, tracking: bool = True) -> None:
        self.device, self.tracking = device, tracking
        self.redetect_every = redetect_every
        self._detector = None
        self._mesh = mesh.FaceMesh()
        self._video_mesh = VideoMesh()

    def _find(self, image: np.ndarray) -> np.ndarray | None:
        if self._detector is None:
            from swaplab.faces.detector import FaceDetector

            self._detector = FaceDetector(device=self.device)
        faces = self._detector.detect(image[None])[0]
        return max(faces, key=lambda det: det.area).landmarks if faces else None

    def _mouth(self, image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        matrix = align.alignment_matrix(points, CROP_SIZE, "whole_face")
        found = self._mesh.crop_landmarks(align.crop(image, matrix, CROP_SIZE))
        if found is None:
            return None, None
        return mesh.mouth_openings(found), five_points(mesh.to_frame(found, matrix))

    def _fallback(self, image: np.ndarray, points: np.ndarray | None, lost: int):
        """(mouth or None, points or None) from MTCNN-aligned crops, when tracking found no face."""
        if points is None and lost % self.redetect_every == 0:
            points = self._find(image)
        return self._mouth(image, points) if points is not None else (None, None)

    def track(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        """Frame times (F,) and mouth openings (F, 4), NaN rows where no face is found."""
        times, rows, points, lost = [], [], None, 0
        self._video_mesh.reset()
        try:
            for frame in iter_frames(path, probe(path)):
                tracked = self._video_mesh.landmarks(frame.image) if self.tracking else None
                if tracked is not None:
                    mouth, points = mesh.mouth_openings(tracked), five_points(tracked)
                else:
                    mouth, points = self._fallback(frame.image, points, lost)
                lost = 0 if mouth is not None else lost + 1
                times.append(frame.timestamp)
                rows.append(mouth if mouth is not None else np.full(N_MOUTH, np.nan))
        finally:
            self._video_mesh.reset()
        return np.asarray(times, np.float64), np.asarray(rows, np.float32).reshape(-1, N_MOUTH)

    def from_manifest(self, records: Sequence[FaceRecord], manifest: Path) -> tuple[np.ndarray, np.ndarray]:
        """Frame times (F,) and mouth openings (F, 4) of one video's manifest rows (crops already aligned)."""
        times, rows = [], []
        for record in records:
            found = None
            if record.has_face:
                found = self._mesh.crop_landmarks(read_image(check_relative_path(record.crop_path, manifest)))
            times.append(record.timestamp)
            rows.append(mesh.mouth_openings(found) if found is not None else np.full(N_MOUTH, np.nan))
        return np.asarray(times, np.float64), np.asarray(rows, np.float32).reshape(-1, N_MOUTH)

    def close(self) -> None:
        self._mesh.close()
        self._video_mesh.reset()


def combine(video: str, frame_times: np.ndarray, mouth: np.ndarray, track: audio.AudioTrack) -> SyncFeatures:
    """Put per-frame mouth features and the audio track on one grid spanning the video's frames."""
    if len(frame_times) == 0:
        raise SwaplabError(f"{video}: no video frames")
    order = np.argsort(frame_times, kind="stable")
    frame_times, mouth = frame_times[order], mouth[order]
    steps = grid(frame_times[0], frame_times[-1])
    sound = audio.audio_per_frame(track, steps, GRID_FPS, AUDIO_PER_STEP)
    return SyncFeatures(video, steps.astype(np.float64), resample(mouth, frame_times, steps).astype(np.float32),
                        sound)


def _cache_file(cache: Path, video: Path, manifest: Path | None) -> Path:
    key = f"v{FEATURES_VERSION}-{sha256_of(video)}-{sha256_of(manifest) if manifest else 'video'}"
    return cache / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def video_features(video: Path, *, tracker: MouthTracker, cache: Path | None = None,
                   manifest: Path | None = None, records: Sequence[FaceRecord] | None = None) -> SyncFeatures:
    """Features of one video, from its own frames or from its face manifest rows; cached when ``cache``.

    Raises
    ------
    NoAudioError
        The video has no usable sound track (checked before any face work; a cached video had one).
    """
    video = Path(video)
    target = _cache_file(cache, video, manifest) if cache is not None else None
    if target is not None and target.exists():
        with np.load(target, allow_pickle=False) as data:
            return SyncFeatures(str(video), data["times"], data["mouth"], data["audio"])
    track = audio.read_audio(video)
    if manifest is not None and records is not None:
        times, mouth = tracker.from_manifest(records, manifest)
    else:
        times, mouth = tracker.track(video)
    found = combine(str(video), times, mouth, track)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, times=found.times, mouth=found.mouth, audio=found.audio)
    return found


def manifest_videos(records: Sequence[FaceRecord]) -> dict[str, list[FaceRecord]]:
    """A manifest's rows grouped by source video path (every row, faces or not, in frame order)."""
    groups: dict[str, list[FaceRecord]] = {}
    for record in sorted(records, key=lambda r: (r.source_path, r.frame_index)):
        groups.setdefault(record.source_path, []).append(record)
    if not faces_only(records):
        raise SwaplabError("manifest holds no faces")
    return groups
