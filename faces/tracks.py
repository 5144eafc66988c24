"""Linking keyframe detections into face tracks and choosing the track to keep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from swaplab.faces.detector import Detection, iou

LINK_IOU = 0.3


@dataclass
class Track:
    """One face followed across keyframes: frame index -> detection."""

    faces: dict[int, Detection] = field(default_factory=dict)

    @property
    def last(self) -> Detection:
        return self.faces[max(self.faces)]

    @property
    def total_area(self) -> float:
        """Face area summed over keyframes: size times duration."""
        return sum(face.area for face in self.faces.values())


def link_tracks(keyframes: Sequence[tuple[int, list[Detection]]], min_iou: float = LINK_IOU) -> list[Track]:
    """Greedily link each keyframe's detections to the track whose last box overlaps most.

    Parameters
    ----------
    keyframes : sequence of (frame_index, detections)
        In frame order.
    """
    tracks: list[Track] = []
    for index, detections in keyframes:
        open_tracks = list(tracks)
        for det in sorted(detections, key=lambda d: -d.area):
            best = max(open_tracks, key=lambda t: iou(t.last.box, det.box), default=None)
            if best is not None and iou(best.last.box, det.box) >= min_iou:
                best.faces[index] = det
                open_tracks.remove(best)
            else:
                tracks.append(Track({index: det}))
    return tracks


def choose_track(tracks: Sequence[Track],
                 similarity: Callable[[Track], float] | None = None) -> tuple[Track, str]:
    """Pick the track to keep and name the rule that picked it.

    ``similarity`` (track -> score against the identity reference) picks the
    most similar track (rule ``identity-ref``); otherwise the track with the
    largest total face area wins (``largest-track``); a lone track is
    ``single-face``.
    """
    if not tracks:
        raise ValueError("no tracks to choose from")
    if similarity is not None:
        return max(tracks, key=similarity), "identity-ref"
    if len(tracks) == 1:
        return tracks[0], "single-face"
    return max(tracks, key=lambda t: t.total_area), "largest-track"


def smooth_landmarks(points: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over time of (T, K, 2) points; NaN frames split runs.

    The window shrinks at the ends of each run, so no frame is shifted
    towards a missing neighbour.
    """
    if window <= 1:
        return points.copy()
    half = window // 2
    out = points.copy()
    valid = ~np.isnan(points).any(axis=(1, 2))
    for start, stop in _runs(valid):
        for t in range(start, stop):
            lo, hi = max(start, t - half), min(stop, t + half + 1)
            reach = min(t - lo, hi - 1 - t)
            out[t] = points[t - reach:t + reach + 1].mean(axis=0)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    runs, start = [], None
    for t, on in enumerate(mask):
        if on and start is None:
            start = t
        elif not on and start is not None:
            runs.append((start, t))
            start = None
    if start is not None:
        runs.append((start, len(mask)))
    return runs
