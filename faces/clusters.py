"""Identity clusters of face tracks, and the rules that choose whose faces to keep.

Each track gets one FaceNet embedding (the mean of its few best keyframe embeddings, best =
detector score x face side); tracks of every input of one run are clustered by agglomerative
clustering (cosine distance, average linkage) with a fixed distance threshold, so the same person
is one cluster across shots and videos and two people are two clusters. Two rules keep people
apart where FaceNet cannot:

* two tracks seen in the same frame of one video are two people: their distance is set to
  ``CANNOT_LINK``, so no cluster holds both (a group walking together, a two-person selfie);
* a track FaceNet cannot identify gets no embedding (extraction leaves it out) and is a cluster of
  its own: faces narrower than ``MIN_IDENTITY_WIDTH`` (median MTCNN box width), or whose median
  FaceNet feature norm (before L2 normalisation) is below ``MIN_IDENTITY_NORM`` (blurred, occluded,
  cut off, or not a face). Such tracks chained a whole group of hikers into one cluster, and
  blurred faces of two different men came out at cosine distance 0.26, closer than most
  genuine pairs.

Threshold (``CLUSTER_DISTANCE``), measured with ``benchmarks/identity_threshold.py`` on real media:
see the comment at ``CLUSTER_DISTANCE`` and the README. Genuine = two embeddings of one person, impostor = two
different people; a track/photo embedding is the mean of up to 3 face embeddings.

Rules (``--faces``), each named in the manifest's ``selection`` column:

largest-cluster  the cluster with the most faces (default without references)
identity-ref     tracks within ``ref_threshold`` cosine distance of any ``--identity-ref`` image
all              every face
``--exclude-ref`` images drop matching tracks after any rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from swaplab.core.errors import SwaplabError

# Measured with benchmarks/identity_threshold.py (FaceNet VGGFace2, cosine distance, 2026-11-26):
# photos/ (MEDS, 52 photos of 7 people, years apart): genuine median 0.241, 95th pct 0.641, max 0.779;
# impostor min 0.489, 1st pct 0.589, 5th pct 0.667. At 0.55: 9.5 % of genuine pairs apart, 0.44 % of
# impostor pairs joined (0.50: 12.8 % / 0.17 %; 0.60: 7.8 % / 1.5 %). Photos years apart are the hard
# case: two stretches of one video are closer. A wrongly split person is one `generate select --keep`
# away; a wrongly merged pair mixes two people in a face set, so the threshold sits below the impostor
# 1st percentile. tears_of_steel_multishot.mp4 at 0.55 joined the man in the car with the woman's first
# track (frames 223-231, mid-morph from the robot) at distance 0.55. On a machine without fast bf16 (fp32
# FaceNet) that track came out at 0.45 and joined the man at 0.50 too: it was embedded on one keyframe only,
# mid-morph. Young tracks are now embedded on each keyframe (tracks.YOUNG_TRACK_EMBEDDINGS): the morph and
# the woman are one track, at 0.66 from the man (benchmarks/identity_by_quality.py: 0 mixed clusters).
CLUSTER_DISTANCE = 0.5
REF_DISTANCE = 0.5
# Measured with benchmarks/identity_by_face_size.py (2026-11-27): 68 faces of the 17 talking heads,
# each frame shrunk so the face box is W px wide. Impostor pairs under 0.5: 0.6-0.8 % from 32 px up
# (as filmed 0.8 %), 2.5 % at 24 px, 4.4 % at 20, 14.5 % at 16; genuine 95th percentile 0.48 at 32 px,
# 0.50-0.51 below. Real small faces are also blurred: on multi/hikers.mp4 (tracks 15-30 px, walking)
# FaceNet put 28 tracks of at least six people under 0.5 of each other (dlib-ResNet did no better).
MIN_IDENTITY_WIDTH = 32.0
# Measured with benchmarks/identity_by_quality.py (2026-11-27): FaceNet's feature norm before L2
# normalisation, median over a track's embedded faces. The 17 talking heads (clear, 146-304 px): 21.2-26.2;
# clear faces of the multi-person clips: 20.6-28.4; hikers' walking, blurred faces: 14.7-20.5 (one woman at
# 72 px: 24.3); faces behind a hand, cut by the frame edge, or 21-31 px: 12.5-18.6; MTCNN false positives
# (hands, a railing, an ear): 13.5-18.1. On the hand-labelled tracks of four multi-person clips
# (benchmarks/data/multi_identities.csv), clustering with this gate joined 0 of 491 impostor track pairs
# (7 without it; 1 at 18, 19 and 19.5) and 86 of 231 genuine pairs (99 without it; 65 at 21). The sides
# overlap: one of the 52 MEDS photos (clear, scanned) scores 19.6 and is left a cluster of its own.
MIN_IDENTITY_NORM = 20.0
# A track is taken for a face when MTCNN scored one of its faces (detected or tracked) at least this high,
# or FaceNet can identify it (MIN_IDENTITY_WIDTH, MIN_IDENTITY_NORM). Measured with
# benchmarks/identity_by_quality.py (2026-11-28, best score and median norm per labelled track): the 12
# false-positive tracks (hands, a railing, an ear) score 0.71-0.99 with norms 13.5-18.1, none identifiable;
# tracks of people score 0.98 or more or are identifiable, except the man behind a card in group_one_shot
# (0.88-0.96, 30 px) and three short, small or cut-off tracks (0.90-0.93). bad/animated_no_human_face.mp4
# (a llama's neck, frames 95-96): 0.81, norm 14.1. An input with no such track has no face (extraction
# refuses it); 0 turns the rule off.
MIN_FACE_SCORE = 0.95
CANNOT_LINK = 1e6  # distance between two tracks seen in one frame: average linkage never joins them
BEST_FACES = 3
FACE_RULES = ("largest", "ref", "all")


@dataclass(frozen=True)
class TrackSummary:
    """What selection needs of one track: ids, size (faces, summed face area in px^2), its (D,)
    L2-normalised embedding (or None) and the frames it has a face in (two tracks sharing a frame of
    one video are two people)."""

    track_id: int
    video_id: str
    faces: int
    embedding: np.ndarray | None
    area: float = 0.0
    frames: frozenset[int] = frozenset()


def cluster_embeddings(embeddings: np.ndarray, threshold: float = CLUSTER_DISTANCE,
                       apart: np.ndarray | None = None) -> np.ndarray:
    """Cluster labels (N,) of L2-normalised embeddings (N, D): average-linkage, cosine distance.

    Two groups merge while their mean pairwise cosine distance is below ``threshold``. ``apart``
    (N, N) bool marks pairs that are known to be two people (cannot-link): they never share a
    cluster.
    """
    if len(embeddings) < 2:
        return np.zeros(len(embeddings), dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    emb = np.asarray(embeddings, dtype=np.float64)
    distance = np.clip(1.0 - emb @ emb.T, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    if apart is not None:
        distance[np.asarray(apart, bool)] = CANNOT_LINK
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=threshold)
    return model.fit_predict(distance)


def seen_together(tracks: Sequence[TrackSummary]) -> np.ndarray:
    """(N, N) bool: tracks with a face in the same frame of the same video."""
    apart = np.zeros((len(tracks), len(tracks)), bool)
    for a, first in enumerate(tracks):
        for b in range(a + 1, len(tracks)):
            second = tracks[b]
            apart[a, b] = apart[b, a] = first.video_id == second.video_id and not first.frames.isdisjoint(second.frames)
    return apart


def cluster_tracks(tracks: Sequence[TrackSummary], threshold: float = CLUSTER_DISTANCE) -> dict[int, int]:
    """Track id -> cluster id. Cluster 0 has the most faces (ties: the larger summed face area), 1 the
    next, ...; tracks seen in one frame never share a cluster; a track without an embedding is a
    cluster of its own."""
    with_emb = [t for t in tracks if t.embedding is not None]
    labels = (cluster_embeddings(np.stack([t.embedding for t in with_emb]), threshold, seen_together(with_emb))
              if with_emb else [])
    raw = {t.track_id: int(label) for t, label in zip(with_emb, labels, strict=True)}
    start = max(raw.values(), default=-1) + 1
    raw.update({t.track_id: start + k for k, t in enumerate(t for t in tracks if t.embedding is None)})
    sizes: dict[int, tuple[int, float]] = {}
    for t in tracks:
        faces, area = sizes.get(raw[t.track_id], (0, 0.0))
        sizes[raw[t.track_id]] = (faces + t.faces, area + t.area)
    ranked = sorted(sizes, key=lambda label: (-sizes[label][0], -sizes[label][1], label))
    order = {label: rank for rank, label in enumerate(ranked)}
    return {track_id: order[label] for track_id, label in raw.items()}


def distances(tracks: Sequence[TrackSummary], references: np.ndarray) -> dict[int, float]:
    """Track id -> smallest cosine distance to any reference embedding (R, D); inf without an embedding."""
    return {t.track_id: float(1.0 - np.max(references @ t.embedding)) if t.embedding is not None else np.inf
            for t in tracks}


def choose(tracks: Sequence[TrackSummary], clusters: dict[int, int], rule: str,
           references: np.ndarray | None = None, exclude: np.ndarray | None = None,
           ref_threshold: float = REF_DISTANCE) -> dict[int, str]:
    """Kept track id -> the rule that kept it.

    Parameters
    ----------
    rule : ``largest``, ``ref`` or ``all``
    references, exclude : (R, D) embeddings of the ``--identity-ref`` / ``--exclude-ref`` images
    """
    if rule not in FACE_RULES:
        raise SwaplabError(f"--faces {rule!r}: choose one of {FACE_RULES}")
    if rule == "ref" and references is None:
        raise SwaplabError("--faces ref needs --identity-ref images")
    if rule == "all":
        kept = {t.track_id: "all" for t in tracks}
    elif rule == "ref":
        near = distances(tracks, references)
        kept = {t.track_id: "identity-ref" for t in tracks if near[t.track_id] <= ref_threshold}
    else:
        kept = {t.track_id: "largest-cluster" for t in tracks if clusters[t.track_id] == _largest(tracks, clusters,
                                                                                                    exclude, ref_threshold)}
    if exclude is not None:
        near = distances(tracks, exclude)
        kept = {tid: why for tid, why in kept.items() if near[tid] > ref_threshold}
    return kept


def _largest(tracks: Sequence[TrackSummary], clusters: dict[int, int], exclude: np.ndarray | None,
             ref_threshold: float) -> int:
    """The cluster with the most faces, not counting excluded tracks (ids are ranked by size already)."""
    near = distances(tracks, exclude) if exclude is not None else {}
    left = [clusters[t.track_id] for t in tracks if near.get(t.track_id, np.inf) > ref_threshold]
    return min(left, default=-1)


def genuine_impostor(embeddings: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine distances of every pair of rows (N, D): (impostor, genuine), impostor first as in metrics."""
    emb = np.asarray(embeddings, dtype=np.float64)
    dist = 1.0 - emb @ emb.T
    same = np.equal.outer(np.asarray(labels), np.asarray(labels))
    upper = np.triu(np.ones_like(same, dtype=bool), k=1)
    return dist[upper & ~same], dist[upper & same]
