"""Face tracks: linking detections over time, the online multi-face tracker, and landmark smoothing.

A track is one face followed through consecutive frames of one shot. :class:`FaceTracker` runs
over a video's frames in order: full MTCNN on keyframes (every ``detect_every``-th frame and the
first frame of a shot), ONet tracking of every open track in between. A face ONet loses is looked
for by full MTCNN in a window around its last box (a fraction of a frame's detection); if it is
not there either, it waits for the next keyframe: a detection there that overlaps its last box
continues the track, and the frames in between are followed back from it. A track ends when

* a shot cut starts (tracks never cross a cut; the frames held for following a new face back
  are cleared too),
* no detection of the next keyframe overlaps its last box (ONet lost it and it is gone),
* the face's identity changes: on keyframes (each of a young track's first ones, then every
  ``embed_every``-th) the face's FaceNet embedding is compared with the track's running template
  (mean of its embeddings so far); a cosine distance above
  ``split_distance`` ends the track and starts a new one (a person walking in front of another,
  a box that slid onto a neighbour).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import savgol_filter

from swaplab.faces.detector import Detection, FaceDetector, iou

LINK_IOU = 0.3
DUPLICATE_IOU = 0.6  # two open tracks overlapping this much follow the same face: one is closed
SMOOTH_ORDER = 2  # polynomial order of the landmark smoothing (Savitzky-Golay)
SMOOTH_MAX_SHIFT = 0.03  # the most smoothing moves a landmark, x the inter-ocular distance
SPLIT_DISTANCE = 0.6  # cosine distance to the track's template that ends a track (see clusters.py)
# A track's first keyframes are all embedded (and checked), until it holds this many embeddings; only
# then does ``embed_every`` thin them out. With one embedding a short track's identity rests on one face:
# tears_of_steel_multishot.mp4's woman, mid-morph from a robot with glowing rings for eyes, was a
# 9-frame track embedded once (frame 224, cosine distance 0.45 to the man with glasses of another
# shot) and joined the man's face set; embedded on frame 228 too (0.50 from frame 224: no split), the track
# holds the woman.
YOUNG_TRACK_EMBEDDINGS = 3


@dataclass(eq=False)
class Track:
    """One face followed through frames of one shot.

    ``faces`` maps frame index -> detection; ``sources`` frame index -> ``detected`` / ``tracked``;
    ``embeddings`` holds (quality, (D,) L2-normalised embedding) pairs of the keyframes that were
    embedded; quality is FaceNet's feature norm before normalisation (low for small, blurred,
    occluded or non-faces).
    Compared by identity (``eq=False``): detections hold arrays.
    """

    faces: dict[int, Detection] = field(default_factory=dict)
    track_id: int = 0
    shot_id: int = 0
    sources: dict[int, str] = field(default_factory=dict)
    embeddings: list[tuple[float, np.ndarray]] = field(default_factory=list)
    keyframes: int = 0

    @property
    def last(self) -> Detection:
        return self.faces[max(self.faces)]

    @property
    def median_width(self) -> float:
        """Median face box width in pixels."""
        return float(np.median([face.box[2] - face.box[0] for face in self.faces.values()]))

    @property
    def total_area(self) -> float:
        """Face area summed over keyframes: size times duration."""
        return sum(face.area for face in self.faces.values())

    def add(self, index: int, det: Detection, source: str) -> None:
        self.faces[index] = det
        self.sources[index] = source

    @property
    def best_score(self) -> float:
        """The highest MTCNN score of the track's faces (0 for none)."""
        return max((face.score for face in self.faces.values()), default=0.0)

    @property
    def feature_norm(self) -> float:
        """Median FaceNet feature norm over the embedded keyframes (0 when none was embedded)."""
        return float(np.median([quality for quality, _ in self.embeddings])) if self.embeddings else 0.0

    def template(self, best: int | None = None) -> np.ndarray | None:
        """L2-normalised mean of the embeddings (of the ``best`` highest-quality ones), or None."""
        if not self.embeddings:
            return None
        chosen = sorted(self.embeddings, key=lambda item: -item[0])[:best] if best else self.embeddings
        mean = np.mean([emb for _, emb in chosen], axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def link_tracks(keyframes: Sequence[tuple[int, list[Detection]]], min_iou: float = LINK_IOU) -> list[Track]:
    """Greedily link each keyframe's detections to the track whose last box overlaps most.

    Each track takes at most one detection per keyframe.

    Parameters
    ----------
    keyframes : sequence of (frame_index, detections)
        In frame order.
    """
    tracks: list[Track] = []
    for index, detections in keyframes:
        open_tracks = list(range(len(tracks)))
        for det in sorted(detections, key=lambda d: -d.area):
            best = max(open_tracks, key=lambda k: iou(tracks[k].last.box, det.box), default=None)
            if best is not None and iou(tracks[best].last.box, det.box) >= min_iou:
                tracks[best].add(index, det, "detected")
                open_tracks.remove(best)
            else:
                tracks.append(Track({index: det}, track_id=len(tracks), sources={index: "detected"}))
    return tracks


def match_boxes(tracks: Sequence[Track], detections: Sequence[Detection],
                min_iou: float = LINK_IOU) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of open tracks to detections by IoU, best pairs first: (track k, det j)."""
    pairs = sorted(((iou(t.last.box, d.box), k, j) for k, t in enumerate(tracks) for j, d in enumerate(detections)),
                   key=lambda item: -item[0])
    used_t, used_d, out = set(), set(), []
    for overlap, k, j in pairs:
        if overlap < min_iou:
            break
        if k not in used_t and j not in used_d:
            used_t.add(k)
            used_d.add(j)
            out.append((k, j))
    return out


Embedder = Callable[[np.ndarray, Sequence[Detection]], np.ndarray]


class FaceTracker:
    """Online multi-face tracking over one video (see the module docstring).

    Parameters
    ----------
    detector : FaceDetector
    embed : callable (image (H, W, 3) uint8, detections) -> (N, D) FaceNet features, or None
        Features before L2 normalisation: the tracker normalises them and keeps each norm as the
        face's quality. None turns the identity check off.
    detect_every : int
        Full detection on every k-th frame of a shot.
    embed_every : int
        A continuing track's identity is checked on every k-th of its keyframes (a new track is
        embedded and checked on each keyframe until it holds ``young_embeddings`` embeddings).
    split_distance : float
        Cosine distance to the track template above which the track ends.
    first_id : int
        Track ids count up from here (unique over a run of several videos).
    young_embeddings : int
        Keyframes of a track holding fewer embeddings than this are all embedded and checked.
    """

    def __init__(self, detector: FaceDetector, embed: Embedder | None, *, detect_every: int = 4,
                 embed_every: int = 1, split_distance: float = SPLIT_DISTANCE, first_id: int = 0,
                 young_embeddings: int = YOUNG_TRACK_EMBEDDINGS) -> None:
        self.detector, self.embed = detector, embed
        self.detect_every, self.embed_every, self.split_distance = detect_every, embed_every, split_distance
        self.young_embeddings = young_embeddings
        self.tracks: list[Track] = []
        self.open: list[Track] = []
        self.next_id = first_id
        self.shot = -1
        self.shot_start = 0
        self.identity_splits = 0
        self._recent: deque[tuple[int, np.ndarray]] = deque(maxlen=max(detect_every - 1, 0))

    @property
    def settle_lag(self) -> int:
        """How many of the latest frames may still gain faces (followed back from a later keyframe).

        After :meth:`step` of frame ``j`` the faces of frame ``j - settle_lag`` and earlier are final.
        """
        return self._recent.maxlen or 0

    def step(self, index: int, image: np.ndarray, shot: int) -> None:
        """Process frame ``index`` (H, W, 3) uint8 RGB of shot ``shot``; frames must come in order.

        Keyframes: every ``detect_every``-th frame of a shot (its first included). A face first
        found on a keyframe, or found again there after ONet lost it, is followed back with ONet
        over the frames since the previous keyframe, so no frame waits for detection.
        """
        if shot != self.shot:
            self.open, self.shot, self.shot_start = [], shot, index
            self._recent.clear()
        if (index - self.shot_start) % self.detect_every == 0:
            self._detect(index, image)
        else:
            self._follow(index, image)
        self._drop_duplicates(index)
        if self._recent.maxlen:
            self._recent.append((index, image))

    def _follow(self, index: int, image: np.ndarray) -> None:
        """ONet-track every open face still followed; a lost one is re-detected near its last box or waits."""
        for track in self.open:
            if index - 1 not in track.faces:
                continue  # lost earlier in this keyframe interval
            found = self.detector.track(image, track.last)
            source = "tracked"
            if found is None:
                found, source = self.detector.redetect(image, track.last, min_iou=LINK_IOU), "detected"
            if found is not None:
                track.add(index, found, source)

    def _detect(self, index: int, image: np.ndarray) -> None:
        detections = self.detector.detect(image[None])[0]
        pairs = match_boxes(self.open, detections)
        matched = {j: self.open[k] for k, j in pairs}
        for track in matched.values():
            track.keyframes += 1
        to_embed = [j for j in range(len(detections)) if j not in matched or self._due(matched[j])]
        embeddings = dict(zip(to_embed, self._embeddings(image, [detections[j] for j in to_embed]), strict=True))
        still_open = []
        for j, det in enumerate(detections):
            emb = embeddings.get(j)
            track = matched.get(j)
            if track is not None and not self._same_person(track, emb):
                self.identity_splits += 1
                track = None
            track = self._new_track() if track is None else track
            track.add(index, det, "detected")
            self._backfill(track, det)  # a new face, or one ONet lost since the last keyframe
            if emb is not None:
                track.embeddings.append(emb)
            still_open.append(track)
        self.open = still_open

    def _backfill(self, track: Track, det: Detection) -> None:
        """Follow a face back through the frames since the last keyframe it lacks, until ONet loses it."""
        previous = det
        for index, image in reversed(self._recent):
            if index in track.faces or any(index in t.faces and iou(t.faces[index].box, previous.box) >= DUPLICATE_IOU
                                           for t in self.tracks if t is not track):
                return
            found = self.detector.track(image, previous)
            if found is None:
                return
            track.add(index, found, "tracked")
            previous = found

    def _due(self, track: Track) -> bool:
        """Whether a continuing track is embedded (and its identity checked) on this keyframe: while it holds
        fewer than ``young_embeddings`` embeddings, then on every ``embed_every``-th."""
        return len(track.embeddings) < self.young_embeddings or track.keyframes % self.embed_every == 0

    def _embeddings(self, image: np.ndarray, detections: list[Detection]) -> list[tuple[float, np.ndarray] | None]:
        """One (feature norm, (D,) unit embedding) per detection (None for each when the check is off)."""
        if self.embed is None or not detections:
            return [None] * len(detections)
        features = np.asarray(self.embed(image, detections), dtype=np.float32)
        norms = np.linalg.norm(features, axis=1)
        return [(float(norm), row / max(float(norm), 1e-12)) for norm, row in zip(norms, features, strict=True)]

    def _same_person(self, track: Track, emb: tuple[float, np.ndarray] | None) -> bool:
        template = track.template()
        if emb is None or template is None:
            return True
        return float(1.0 - emb[1] @ template) <= self.split_distance

    def _new_track(self) -> Track:
        track = Track(track_id=self.next_id, shot_id=self.shot)
        self.next_id += 1
        self.tracks.append(track)
        return track

    def _drop_duplicates(self, index: int) -> None:
        """Two open tracks on the same face: keep the older one, end the other (its face at ``index`` too)."""
        kept: list[Track] = []
        for track in sorted(self.open, key=lambda t: t.track_id):
            if index not in track.faces:  # lost by ONet: waits for the next keyframe
                kept.append(track)
                continue
            if any(index in other.faces and iou(track.faces[index].box, other.faces[index].box) >= DUPLICATE_IOU for other in kept):
                del track.faces[index]
                del track.sources[index]
                continue
            kept.append(track)
        self.open = kept

    def finished(self) -> list[Track]:
        """Every track with at least one face, in order of creation."""
        return [track for track in self.tracks if track.faces]


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


def smooth_landmarks(points: np.ndarray, window: int, order: int = SMOOTH_ORDER,
                     max_shift: float | None = SMOOTH_MAX_SHIFT) -> np.ndarray:
    """Remove landmark jitter over time from (T, K, 2) points (K >= 2, the first two the eyes); NaN frames split runs.

    Each point's track is fitted, in a centred window of ``window`` frames, by a polynomial of
    ``order`` (Savitzky-Golay; 2 follows a head that speeds up or stops, where a moving average
    lags). The fit moves a point by at most ``max_shift`` x the frame's inter-ocular distance
    (None: no bound): detector jitter is a few hundredths of it, while a fast head turn departs from
    any smooth fit by much more, and there the points stay near the detections (measured in the
    README). A run shorter than the window uses the longest odd window it holds; a run of
    ``order + 1`` frames or fewer is left as it is.
    """
    if window <= 1:
        return points.copy()
    out = points.copy()
    valid = ~np.isnan(points).any(axis=(1, 2))
    for start, stop in _runs(valid):
        length = min(window, stop - start)
        length -= 1 - length % 2  # odd
        if length > order + 1:
            out[start:stop] = savgol_filter(points[start:stop], length, order, axis=0, mode="interp")
    if max_shift is not None:
        shift = out - points
        limit = max_shift * np.linalg.norm(points[:, 0] - points[:, 1], axis=1)[:, None]  # (T, 1)
        size = np.linalg.norm(shift, axis=2)
        scale = np.where(size > limit, limit / np.maximum(size, 1e-9), 1.0)
        out = np.where(valid[:, None, None], points + shift * scale[..., None], points)
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
