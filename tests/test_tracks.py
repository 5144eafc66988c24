import numpy as np

from swaplab.faces.detector import Detection, iou
from swaplab.faces.tracks import FaceTracker, choose_track, link_tracks, smooth_landmarks


def det(x: float, y: float, side: float, score: float = 0.99) -> Detection:
    return Detection(np.array([x, y, x + side, y + side]), score, np.zeros((5, 2)))


def test_iou() -> None:
    assert iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == 50 / 150
    assert iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0


def test_tracks_link_by_overlap_and_largest_wins() -> None:
    keyframes = [(0, [det(0, 0, 40), det(200, 0, 90)]), (4, [det(205, 3, 90), det(3, 1, 40)]),
                 (8, [det(6, 2, 40)])]
    tracks = link_tracks(keyframes)
    assert sorted(sorted(t.faces) for t in tracks) == [[0, 4], [0, 4, 8]]
    chosen, rule = choose_track(tracks)
    assert rule == "largest-track" and chosen.faces[0].box[0] == 200
    chosen, rule = choose_track(tracks, similarity=lambda t: -t.faces[0].box[0])
    assert rule == "identity-ref" and chosen.faces[0].box[0] == 0
    assert choose_track(tracks[:1])[1] == "single-face"


def test_smoothing_follows_motion_removes_jitter_and_respects_gaps() -> None:
    t = np.arange(21, dtype=float)
    face = np.array([[0, 0], [100, 0], [50, 40], [20, 80], [80, 80]], float)  # eyes 100 px apart
    points = face + np.stack([t, 0.05 * t**2], axis=1)[:, None, :]  # steady x, accelerating y
    points[10] = np.nan
    smoothed = smooth_landmarks(points, 9)
    valid = ~np.isnan(points).any(axis=(1, 2))
    np.testing.assert_allclose(smoothed[valid], points[valid], atol=1e-9)  # no lag, even when speeding up
    assert np.isnan(smoothed[10]).all()
    still = np.repeat(face[None], 21, axis=0)
    jitter = still.copy()
    jitter[5, :, 0] += 2.0  # one frame's landmarks off by 2 px (0.02 IOD)
    assert np.abs(smooth_landmarks(jitter, 9) - still).max() < 0.6
    turn = still.copy()
    turn[11:, :, 0] += 40.0  # the head jumps 40 px: smoothing may not drag it by more than 3 px
    assert np.abs(smooth_landmarks(turn, 9) - turn).max() <= 3.0 + 1e-9
    np.testing.assert_array_equal(smooth_landmarks(jitter, 1), jitter)  # window 1: off


def test_linking_a_face_that_was_missed_on_a_keyframe_does_not_crash() -> None:
    # B is missed on keyframe 4 and found again on 8: linking it made the old code compare two Track
    # dataclasses holding arrays (list.remove -> Detection.__eq__) and raise ValueError
    keyframes = [(0, [det(0, 0, 60), det(300, 0, 50)]), (4, [det(1, 1, 60)]),
                 (8, [det(300, 1, 58), det(2, 2, 55), det(500, 300, 50)])]
    tracks = link_tracks(keyframes)
    assert sorted(sorted(t.faces) for t in tracks) == [[0, 4, 8], [0, 8], [8]]


class FakeDetector:
    """Detects the faces it is told for each frame; ONet tracking returns the same box."""

    def __init__(self, faces: dict[int, list[Detection]], refound: tuple[int, ...] = ()) -> None:
        self.faces, self.calls, self.refound = faces, [], refound

    def detect(self, frames: np.ndarray) -> list[list[Detection]]:
        index = int(frames[0, 0, 0, 0])
        self.calls.append(index)
        return [self.faces.get(index, [])]

    def track(self, frame: np.ndarray, previous: Detection) -> Detection | None:
        index = int(frame[0, 0, 0])
        return previous if self.faces.get(index) else None

    def redetect(self, frame: np.ndarray, previous: Detection, min_iou: float) -> Detection | None:
        index = int(frame[0, 0, 0])
        self.calls.append(("near", index))
        return previous if index in self.refound else None


def run_tracker(faces: dict[int, list[Detection]], shots: list[int], people: dict[int, list[int]],
                detect_every: int = 4) -> FaceTracker:
    """Frame t is an image whose first pixel is t; ``people[t]`` names the person of each face detected on t."""
    eye = np.eye(4, dtype=np.float32)

    def embed(image: np.ndarray, detections: list[Detection]) -> np.ndarray:
        index = int(image[0, 0, 0])
        position = [next(k for k, f in enumerate(faces[index]) if f is d) for d in detections]
        return np.stack([eye[people[index][k]] for k in position])

    tracker = FaceTracker(FakeDetector(faces), embed, detect_every=detect_every)
    for t, shot in enumerate(shots):
        tracker.step(t, np.full((8, 8, 3), t, np.uint8), shot)
    return tracker


def test_tracks_end_at_a_shot_cut() -> None:
    faces = {t: [det(10, 10, 50)] for t in range(10)}
    tracker = run_tracker(faces, [0] * 6 + [1] * 4, {t: [0] for t in range(10)})
    tracks = tracker.finished()
    assert [sorted(t.faces) for t in tracks] == [list(range(6)), list(range(6, 10))]
    assert [t.shot_id for t in tracks] == [0, 1]
    assert 6 in tracker.detector.calls  # a new shot starts with full detection


def test_tracks_end_when_the_identity_changes() -> None:
    faces = {t: [det(10, 10, 50), det(200, 10, 50)] for t in range(9)}
    people = {t: [0, 1] if t < 4 else [2, 1] for t in range(9)}  # someone else steps into the left box
    tracker = run_tracker(faces, [0] * 9, people)
    tracks = tracker.finished()
    assert [sorted(t.faces) for t in tracks] == [[0, 1, 2, 3], list(range(9)), list(range(4, 9))]
    assert tracker.identity_splits == 1
    assert all(t.template() is not None for t in tracks)


def test_tracker_without_identity_check_and_duplicates() -> None:
    faces = {t: [det(10, 10, 50), det(12, 11, 50)] for t in range(3)}  # two boxes on one face
    tracker = FaceTracker(FakeDetector(faces), None, detect_every=2)
    for t in range(3):
        tracker.step(t, np.full((8, 8, 3), t, np.uint8), 0)
    assert [sorted(t.faces) for t in tracker.finished()] == [[0, 1, 2]]


def test_a_face_onet_loses_is_found_near_its_box_or_waits_for_the_next_keyframe() -> None:
    # ONet loses the face on frames 2 and 6; the window re-detection finds it on 6, not on 2; no
    # full-frame detection off the keyframes; one track: frame 2 gets no face (the following-back
    # from keyframe 4 loses it there too) and frame 3 is followed back from keyframe 4
    faces = {t: [det(10, 10, 50)] for t in range(9) if t not in (2, 6)}
    detector = FakeDetector(faces, refound=(6,))
    tracker = FaceTracker(detector, None, detect_every=4)
    for t in range(9):
        tracker.step(t, np.full((8, 8, 3), t, np.uint8), 0)
    assert [call for call in detector.calls if not isinstance(call, tuple)] == [0, 4, 8]
    assert ("near", 2) in detector.calls and ("near", 6) in detector.calls
    (track,) = tracker.finished()
    assert sorted(track.faces) == [0, 1, 3, 4, 5, 6, 7, 8]
    assert track.sources[6] == "detected" and track.sources[3] == "tracked"


def test_tracks_too_small_or_unclear_to_identify_get_no_embedding(tmp_path) -> None:
    from types import SimpleNamespace

    from swaplab.faces.extract import summaries
    from swaplab.faces.tracks import Track

    emb, other = np.ones(4, np.float32) / 2, np.array([1, 0, 0, 0], np.float32)
    small = Track({0: det(0, 0, 20), 1: det(0, 0, 24), 2: det(0, 0, 60)}, track_id=0, embeddings=[(25.0, emb)])
    large = Track({0: det(100, 0, 40), 1: det(100, 0, 44)}, track_id=1, embeddings=[(25.0, emb), (21.0, other)])
    blurred = Track({0: det(200, 0, 40), 1: det(200, 0, 44)}, track_id=2,
                    embeddings=[(12.0, other), (18.0, other), (26.0, emb)])
    scan = SimpleNamespace(video_id="walk", tracks=[small, large, blurred])
    assert small.median_width == 24 and large.median_width == 42
    assert large.feature_norm == 23.0 and blurred.feature_norm == 18.0
    first, second, third = summaries([scan], min_width=32, min_norm=20)
    assert first.embedding is None and third.embedding is None
    np.testing.assert_allclose(second.embedding, large.template(best=3))
    assert np.allclose(large.template(best=1), emb)  # the best face is the one of highest norm
    assert first.frames == {0, 1, 2} and second.frames == {0, 1}
    assert summaries([scan], min_width=32, min_norm=0)[2].embedding is not None


def test_the_tracker_keeps_each_faces_feature_norm_as_its_quality() -> None:
    faces = {t: [det(10, 10, 50)] for t in range(5)}
    scale = {0: 24.0, 4: 16.0}

    def embed(image: np.ndarray, detections: list[Detection]) -> np.ndarray:
        return np.array([[scale[int(image[0, 0, 0])], 0, 0, 0]], np.float32)

    tracker = FaceTracker(FakeDetector(faces), embed, detect_every=4)
    for t in range(5):
        tracker.step(t, np.full((8, 8, 3), t, np.uint8), 0)
    (track,) = tracker.finished()
    assert [quality for quality, _ in track.embeddings] == [24.0, 16.0]
    assert all(np.isclose(np.linalg.norm(e), 1.0) for _, e in track.embeddings)
    assert track.feature_norm == 20.0


def test_a_young_track_is_embedded_and_checked_on_each_keyframe_then_on_every_kth() -> None:
    # keyframes 0, 2, ..., 16; embed_every 3; the face drifts a little from keyframe 4 on (a morph: 0.28
    # from the template)
    drift = np.array([np.cos(0.76), np.sin(0.76), 0, 0], np.float32)
    faces = {t: [det(10, 10, 50)] for t in range(17)}
    embedded: list[int] = []

    def embed(image: np.ndarray, detections: list[Detection]) -> np.ndarray:
        t = int(image[0, 0, 0])
        embedded.append(t)
        return drift[None] if t >= 4 else np.eye(4, dtype=np.float32)[[0]]

    tracker = FaceTracker(FakeDetector(faces), embed, detect_every=2, embed_every=3, young_embeddings=3)
    for t in range(17):
        tracker.step(t, np.full((8, 8, 3), t, np.uint8), 0)
    assert embedded == [0, 2, 4, 6, 12]  # new, young, young, then the track's keyframes 3 and 6
    (track,) = tracker.finished()
    assert tracker.identity_splits == 0 and len(track.embeddings) == 5

    def someone_else(image: np.ndarray, detections: list[Detection]) -> np.ndarray:
        return np.eye(4, dtype=np.float32)[[int(image[0, 0, 0] >= 2)]]

    other = FaceTracker(FakeDetector(faces), someone_else, detect_every=2, embed_every=3, young_embeddings=3)
    for t in range(17):
        other.step(t, np.full((8, 8, 3), t, np.uint8), 0)
    # the track's second keyframe is young: embedded and checked, so the other person starts a track there
    assert other.identity_splits == 1 and [min(t.faces) for t in other.finished()] == [0, 2]
