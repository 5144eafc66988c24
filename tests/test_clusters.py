import numpy as np
import pytest

from swaplab.core.errors import SwaplabError
from swaplab.faces.clusters import TrackSummary, choose, cluster_tracks, genuine_impostor
from swaplab.faces.shots import ShotDetector


def person(k: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    base = np.zeros(16)
    base[k] = 1.0
    emb = base + noise * rng.standard_normal(16)
    return emb / np.linalg.norm(emb)


def tracks_of(people: list[int], faces: list[int]) -> list[TrackSummary]:
    rng = np.random.default_rng(0)
    return [TrackSummary(t, f"v{t % 2}", n, person(p, 0.1, rng)) for t, (p, n) in enumerate(zip(people, faces, strict=True))]


def test_tracks_cluster_by_person_and_cluster_0_has_most_faces() -> None:
    tracks = tracks_of([0, 1, 0, 2, 1], [10, 50, 30, 5, 20])
    groups = cluster_tracks(tracks)
    assert groups[0] == groups[2] and groups[1] == groups[4] and len(set(groups.values())) == 3
    assert groups[1] == 0 and groups[0] == 1 and groups[3] == 2  # person 1: 70 faces, person 0: 40
    no_embedding = TrackSummary(9, "v0", 3, None)
    assert cluster_tracks([*tracks, no_embedding])[9] == 3


def test_tracks_seen_in_one_frame_never_share_a_cluster() -> None:
    rng = np.random.default_rng(3)
    look_alike = [person(0, 0.05, rng) for _ in range(4)]  # four tracks FaceNet finds alike
    frames = [range(0, 50), range(0, 50), range(60, 90), range(100, 120)]
    tracks = [TrackSummary(t, "walk", len(f), emb, frames=frozenset(f))
              for t, (emb, f) in enumerate(zip(look_alike, frames, strict=True))]
    groups = cluster_tracks(tracks)
    assert groups[0] != groups[1]  # side by side in frames 0-49: two people
    assert len(set(groups.values())) == 2
    other_video = [TrackSummary(t.track_id, f"v{t.track_id}", t.faces, t.embedding, frames=t.frames) for t in tracks]
    assert len(set(cluster_tracks(other_video).values())) == 1  # same frame numbers of different videos: no rule


def test_rules_choose_whom_to_keep() -> None:
    tracks = tracks_of([0, 1, 0, 2, 1], [10, 50, 30, 5, 20])
    groups = cluster_tracks(tracks)
    assert choose(tracks, groups, "largest") == {1: "largest-cluster", 4: "largest-cluster"}
    ref = np.stack([tracks[0].embedding])
    assert choose(tracks, groups, "ref", references=ref) == {0: "identity-ref", 2: "identity-ref"}
    assert set(choose(tracks, groups, "all")) == {0, 1, 2, 3, 4}
    exclude = np.stack([tracks[1].embedding])
    assert choose(tracks, groups, "largest", exclude=exclude) == {0: "largest-cluster", 2: "largest-cluster"}
    with pytest.raises(SwaplabError, match="needs --identity-ref"):
        choose(tracks, groups, "ref")


def test_genuine_and_impostor_distances() -> None:
    emb = np.eye(3)[[0, 0, 1]].astype(float)
    impostor, genuine = genuine_impostor(emb, ["a", "a", "b"])
    np.testing.assert_allclose(genuine, [0.0])
    np.testing.assert_allclose(impostor, [1.0, 1.0])


def test_shot_detector_numbers_shots_at_cuts() -> None:
    rng = np.random.default_rng(1)
    scenes = [rng.integers(0, 255, (90, 160, 3), dtype=np.uint8) for _ in range(3)]
    frames = [scenes[0]] * 12 + [scenes[1]] * 12 + [scenes[2]] * 12
    detector = ShotDetector(fps=25.0)
    assert [detector.shot_of(k, f) for k, f in enumerate(frames)] == [0] * 12 + [1] * 12 + [2] * 12
    assert detector.cuts == [12, 24]
    photos = ShotDetector(fps=1.0, min_shot_frames=1)
    assert [photos.shot_of(k, np.zeros(s, np.uint8)) for k, s in enumerate([(40, 40, 3), (40, 40, 3), (50, 40, 3)])] \
        == [0, 0, 1]

