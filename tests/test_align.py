import numpy as np
import pytest

from swaplab.core.errors import SwaplabError
from swaplab.faces import align


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def test_umeyama_recovers_a_known_similarity() -> None:
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 200, (5, 2))
    truth = similarity(17.0, 1.7, -30.0, 12.5)
    found = align.umeyama(points, align.apply(truth, points))
    np.testing.assert_allclose(found, truth, atol=1e-9)


def test_umeyama_never_reflects() -> None:
    points = np.array([[38.3, 51.7], [73.5, 51.5], [56.0, 71.7], [41.5, 92.4], [70.7, 92.2]])
    mirrored = points * np.array([-1, 1])
    found = align.umeyama(points, mirrored)
    assert np.linalg.det(found[:, :2]) > 0


def dot_image(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A black image with a bright Gaussian blob at each point (sub-pixel centres)."""
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    image = np.zeros((size[1], size[0]), np.float64)
    for x, y in points:
        image += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 2.5**2))
    return (255 * image / image.max()).astype(np.uint8)


def blob_centres(image: np.ndarray, near: np.ndarray, radius: int = 6) -> np.ndarray:
    """Intensity-weighted centroid of the blob around each point of ``near``."""
    centres = []
    for x, y in near:
        x0, y0 = int(round(x)) - radius, int(round(y)) - radius
        window = image[y0:y0 + 2 * radius + 1, x0:x0 + 2 * radius + 1].astype(np.float64)
        yy, xx = np.mgrid[0:window.shape[0], 0:window.shape[1]]
        centres.append([(window * xx).sum() / window.sum() + x0, (window * yy).sum() / window.sum() + y0])
    return np.array(centres)


@pytest.mark.parametrize("face_type", ["face", "whole_face", "head"])
@pytest.mark.parametrize("size", [64, 128, 256])
def test_crop_then_paste_back_lands_within_one_pixel(face_type: str, size: int) -> None:
    frame_size = (640, 360)
    # A tilted, off-centre face whose eyes are 70 px apart.
    landmarks = align.apply(similarity(12.0, 1.0, 280.0, 150.0),
                            np.array([[0, 0], [70, 0], [35, 30], [8, 62], [62, 62]], dtype=float))
    frame = dot_image(landmarks, frame_size)
    matrix = align.alignment_matrix(landmarks, size, face_type)
    crop = align.crop(frame, matrix, size)
    in_crop = blob_centres(crop, align.apply(matrix, landmarks), radius=max(3, size // 40))
    np.testing.assert_allclose(align.apply(align.invert(matrix), in_crop), landmarks, atol=1.0)
    pasted = align.paste(crop, matrix, frame_size)
    np.testing.assert_allclose(blob_centres(pasted, landmarks), landmarks, atol=1.0)


def test_template_types_nest() -> None:
    tight, whole, head = (align.template(256, kind) for kind in ("face", "whole_face", "head"))
    eye_gap = [np.linalg.norm(t[1] - t[0]) for t in (tight, whole, head)]
    assert eye_gap[0] > eye_gap[1] > eye_gap[2]
    with pytest.raises(SwaplabError, match="unknown face type 'torso'"):
        align.template(256, "torso")
