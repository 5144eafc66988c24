"""The swapped face moved onto dst's features (generate/feature_fit.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from swaplab.core.errors import SwaplabError
from swaplab.faces.mesh import N_POINTS, FaceMesh
from swaplab.generate.feature_fit import FEATURES, FeatureFit, as_matrix, believable, similarity
from swaplab.generate.swap import SwapConfig

SIZE = 128


def moved(points: np.ndarray, params: np.ndarray) -> np.ndarray:
    return points @ as_matrix(params)[:, :2].T + as_matrix(params)[:, 2]


class FixedMesh:
    """Stands in for Face Mesh: finds the same points on every face (None: no face)."""

    def __init__(self, points: np.ndarray | None) -> None:
        self.points = points

    def crop_landmarks(self, crop: np.ndarray) -> np.ndarray | None:
        return self.points


def face_points(rng: np.random.Generator) -> np.ndarray:
    """(478, 2) points spread over the centre of a SIZE crop, the face oval a circle of radius 50 around it."""
    from swaplab.faces import mesh

    points = rng.uniform(0.3 * SIZE, 0.7 * SIZE, (N_POINTS, 2))
    angles = np.linspace(0, 2 * np.pi, len(mesh.FACE_OVAL), endpoint=False)
    points[list(mesh.FACE_OVAL)] = SIZE / 2 + 50 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return points


def dot_image(x: float, y: float) -> np.ndarray:
    """(SIZE, SIZE, 3) float32 face stand-in: a soft bright dot at (x, y) on grey."""
    rows, cols = np.mgrid[:SIZE, :SIZE]
    dot = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * 3.0 ** 2))
    return np.repeat((0.3 + 0.6 * dot)[..., None], 3, 2).astype(np.float32)


def dot_centre(image: np.ndarray) -> np.ndarray:
    """(x, y) of the bright dot, the centroid of its upper part (above any skin spread of it)."""
    weight = np.clip(image[..., 0] - 0.5, 0, None)
    rows, cols = np.mgrid[:SIZE, :SIZE]
    return np.array([(cols * weight).sum(), (rows * weight).sum()]) / weight.sum()


def mesh_points(face_mesh: FaceMesh, image: np.ndarray) -> np.ndarray:
    """(478, 2) Face Mesh points of a (S, S, 3) float image in [0, 1]."""
    return face_mesh.crop_landmarks((image * 255).round().astype(np.uint8))[:, :2]


def pasted(face: np.ndarray, face_matrix: np.ndarray) -> np.ndarray:
    """``face`` pasted through a frame->crop matrix into a frame the crop's size (as ``align.paste``)."""
    return cv2.warpAffine(face, face_matrix, face.shape[1::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


UNMOVED = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def test_similarity_recovers_a_known_move():
    source = face_points(np.random.default_rng(0))
    truth = np.array([np.cos(0.1) * 1.05, np.sin(0.1) * 1.05, 4.0, -3.0])
    assert np.allclose(similarity(source, moved(source, truth)), truth)


def test_believable_bounds_shift_turn_and_scale():
    assert believable(np.array([1.0, 0.0, 5.0, -5.0]), SIZE)
    assert not believable(np.array([1.0, 0.0, 0.3 * SIZE, 0.0]), SIZE)  # a shift of 30 % of the crop
    centre = np.full(2, (SIZE - 1) / 2)
    for turn, expected in ((0.15, True), (0.25, False)):  # 8.6 and 14.3 degrees about the crop's centre
        a, b = np.cos(turn), np.sin(turn)
        tx, ty = centre - np.array([[a, -b], [b, a]]) @ centre
        assert believable(np.array([a, b, tx, ty]), SIZE) == expected
    assert not believable(np.array([1.3, 0.0, -0.15 * SIZE, -0.15 * SIZE]), SIZE)  # 30 % larger, centre kept


def test_the_face_moves_by_the_share_asked_for():
    points = face_points(np.random.default_rng(1))
    shift = np.array([1.0, 0.0, 6.0, -4.0])
    face = dot_image(60, 70)
    for weight in (1.0, 0.5):
        fit = FeatureFit(weight, FixedMesh(points))
        out = pasted(*fit.apply(face, moved(points, shift), UNMOVED))
        assert np.allclose(dot_centre(out), [60 + 6 * weight, 70 - 4 * weight], atol=0.15)
        assert fit.shifts[-1] == pytest.approx(np.hypot(6, 4) * weight, abs=1e-6)


def test_a_misfit_or_a_missing_mesh_leaves_the_face_where_it_was_rendered():
    points = face_points(np.random.default_rng(2))
    face = dot_image(60, 70)
    far = moved(points, np.array([1.0, 0.0, 0.4 * SIZE, 0.0]))
    matrix = np.array([[0.5, 0.1, -20.0], [-0.1, 0.5, 7.0]])  # a frame->crop matrix
    assert np.allclose(FeatureFit(1.0, FixedMesh(points)).apply(face, far, matrix)[1], matrix)
    assert np.allclose(FeatureFit(1.0, FixedMesh(points)).apply(face, None, matrix)[1], matrix)
    assert np.allclose(FeatureFit(1.0, FixedMesh(None)).apply(face, points, matrix)[1], matrix)


def test_only_the_features_are_fitted():
    """Points outside the features (the face oval) do not pull the fit."""
    from swaplab.faces import mesh

    assert set(FEATURES).isdisjoint(mesh.FACE_OVAL) and len(FEATURES) > 60
    points = face_points(np.random.default_rng(3))
    target = points.copy()
    others = np.setdiff1d(np.arange(N_POINTS), FEATURES)
    target[others] += 20.0
    assert np.allclose(FeatureFit(1.0, FixedMesh(points)).transform(dot_image(60, 70), target)[0], [1, 0, 0, 0])


def test_a_track_moves_smoothly():
    points = face_points(np.random.default_rng(4))
    fit = FeatureFit(1.0, FixedMesh(points))
    face, target = dot_image(60, 70), moved(points, np.array([1.0, 0.0, 6.0, 0.0]))
    shifts = [fit.transform(face, target, track=0)[0][2] for _ in range(6)]
    assert shifts[0] == pytest.approx(6.0)
    jumped = [fit.transform(face, points, track=0)[0][2] for _ in range(3)]
    assert 6.0 > jumped[0] > jumped[1] > jumped[2] > 0  # eases back, no jump
    assert fit.transform(face, target, track=1)[0][2] == pytest.approx(6.0)  # another track starts afresh


def test_feature_fit_is_bounded():
    with pytest.raises(SwaplabError, match="--feature-fit"):
        SwapConfig(model=Path("m"), dst=Path("d.mp4"), out=Path("o"), feature_fit=1.5)


def test_real_face_is_moved_back_onto_its_own_features(media):
    """lp_d12's first frame, its face as dst's crop; the same crop turned and shifted stands in for a swap drawn
    beside dst's features. Face Mesh on both, and the fit, bring it back to within 2 px (of 23)."""
    capture = cv2.VideoCapture(str(media / "talking" / "lp_d12.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert ok
    crop = cv2.cvtColor(cv2.resize(frame[71:391, 110:430], (256, 256), interpolation=cv2.INTER_AREA),
                        cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    drawn = cv2.warpAffine(crop, as_matrix(np.array([np.cos(0.06), np.sin(0.06), -14.0, 2.0])), (256, 256),
                           borderMode=cv2.BORDER_REFLECT)
    face_mesh = FaceMesh()
    try:
        dst_points = mesh_points(face_mesh, crop)
        before = np.linalg.norm(mesh_points(face_mesh, drawn) - dst_points, axis=1)[list(FEATURES)].mean()
        back = pasted(*FeatureFit(1.0, face_mesh).apply(drawn, dst_points, UNMOVED))
        after = np.linalg.norm(mesh_points(face_mesh, back) - dst_points, axis=1)[list(FEATURES)].mean()
    finally:
        face_mesh.close()
    assert before > 8 and after < 2.0  # 1.5 px measured: the skin spread past the outline hides the hair line
    centre = (slice(64, 192), slice(64, 192))
    assert np.abs(back - crop)[centre].mean() < 0.25 * np.abs(drawn - crop)[centre].mean()


def test_the_move_is_folded_into_the_frame_matrix():
    """Pasting the face through the moved matrix equals moving it in the crop, then pasting it as dst's."""
    from swaplab.generate.feature_fit import moved_matrix

    params = np.array([np.cos(0.05) * 1.04, np.sin(0.05) * 1.04, 3.0, -2.0])
    matrix = np.array([[0.8, 0.1, -30.0], [-0.1, 0.8, -12.0]])
    frame_points = np.random.default_rng(5).uniform(40, 200, (20, 2))
    in_crop = frame_points @ matrix[:, :2].T + matrix[:, 2]
    through_moved = frame_points @ moved_matrix(matrix, params)[:, :2].T + moved_matrix(matrix, params)[:, 2]
    assert np.allclose(moved(through_moved, params), in_crop)



def test_the_paste_moves_the_face_and_keeps_dst_s_mask():
    """blend_into_frame pastes the face through its moved matrix and the mask through dst's."""
    from swaplab.generate.blend import blend_into_frame
    from swaplab.generate.feature_fit import moved_matrix

    frame = np.full((SIZE, SIZE, 3), 40, np.uint8)
    face, mask = dot_image(60, 70), np.ones((SIZE, SIZE), np.float32)
    matrix = UNMOVED
    kept, kept_mask = blend_into_frame(frame, face, mask, matrix)
    moved_frame, moved_mask = blend_into_frame(frame, face, mask, matrix,
                                               face_matrix=moved_matrix(matrix, np.array([1.0, 0, 5, 3])))
    as_float = [image.astype(np.float32) / 255 for image in (kept, moved_frame)]
    assert np.allclose(dot_centre(as_float[0]), [60, 70], atol=0.3)
    assert np.allclose(dot_centre(as_float[1]), [65, 73], atol=0.3)
    assert np.array_equal(kept_mask, moved_mask)


def test_the_skin_is_spread_past_the_face_s_outline():
    """Beyond its own outline the face shows its skin, not what the model drew beside it (src's hair or
    background), so moving it never brings that into dst's mask."""
    from swaplab.faces import mesh
    from swaplab.generate.feature_fit import extend_skin

    rows, cols = np.mgrid[:SIZE, :SIZE]
    inside = np.hypot(cols - 64, rows - 64) < 40
    face = np.where(inside[..., None], np.float32([0.8, 0.6, 0.5]), np.float32([0.1, 0.1, 0.15])).astype(np.float32)
    angles = np.linspace(0, 2 * np.pi, len(mesh.FACE_OVAL), endpoint=False)
    oval = 64 + 40 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    out = extend_skin(face, oval)
    assert np.allclose(out[64, 64], [0.8, 0.6, 0.5], atol=1e-3)  # inside: the face as rendered
    assert np.allclose(out[64, 64 + 48], [0.8, 0.6, 0.5], atol=0.03)  # 8 px past the outline: skin
    assert np.allclose(out[64, 64 - 48], [0.8, 0.6, 0.5], atol=0.03)
    assert np.abs(out - face)[inside].mean() < 0.03  # the face itself barely changes (its soft rim)
    points = face_points(np.random.default_rng(7))
    points[list(mesh.FACE_OVAL)] = oval
    pasted_face, _ = FeatureFit(0.5, FixedMesh(points)).apply(face, points, UNMOVED)
    assert np.allclose(pasted_face, out)  # what the swap pastes
