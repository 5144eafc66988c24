import numpy as np

from swaplab.faces.detector import Detection, iou
from swaplab.faces.tracks import choose_track, link_tracks, smooth_landmarks


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


def test_smoothing_is_centred_and_respects_gaps() -> None:
    t = np.arange(9, dtype=float)
    points = np.repeat(np.stack([t, 2 * t], axis=1)[:, None, :], 5, axis=1)  # linear motion
    points[4] = np.nan
    smoothed = smooth_landmarks(points, 5)
    valid = ~np.isnan(points).any(axis=(1, 2))
    np.testing.assert_allclose(smoothed[valid], points[valid])  # no lag on linear motion
    assert np.isnan(smoothed[4]).all()
    jitter = points.copy()
    jitter[2, :, 0] += 3.0
    assert abs(smooth_landmarks(jitter, 3)[2, 0, 0] - 2.0) < 1.01
