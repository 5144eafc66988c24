"""Eye patches cut at the mesh's eye corners, and the likeness of an eye to a set of real eyes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from swaplab.faces.align import apply
from swaplab.faces.eyes import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS, eye_likeness, eye_patch, eye_patches
from swaplab.faces.mesh import N_POINTS

SIZE = 160
LEFT_CORNERS, RIGHT_CORNERS = ((40.0, 70.0), (70.0, 70.0)), ((90.0, 70.0), (120.0, 70.0))


def drawn_eye(image: np.ndarray, corners: tuple, iris_shift: float = 0.0) -> None:
    """Draw an eye between two corners (x, y): a pale almond with a dark iris, lid lines above and below."""
    (x0, y0), (x1, y1) = corners
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    half = (x1 - x0) / 2
    cv2.ellipse(image, (round(centre[0]), round(centre[1])), (round(half), round(half * 0.45)), 0, 0, 360,
                (235, 235, 235), -1, cv2.LINE_AA)
    cv2.circle(image, (round(centre[0] + iris_shift), round(centre[1])), round(half * 0.4), (40, 30, 30), -1,
               cv2.LINE_AA)
    cv2.ellipse(image, (round(centre[0]), round(centre[1])), (round(half), round(half * 0.45)), 0, 180, 360,
                (60, 40, 40), 2, cv2.LINE_AA)


def face_with_eyes(iris_shift: float = 0.0, outward: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(SIZE, SIZE, 3) uint8 skin with two drawn eyes, and its mesh (478, 2) with the eye corners placed.

    ``iris_shift`` moves both irises right (px); ``outward`` moves each toward its eye's outer corner (a
    mirror-symmetric face whose single eye is not symmetric)."""
    image = np.full((SIZE, SIZE, 3), (190, 150, 130), np.uint8)
    points = np.full((N_POINTS, 2), SIZE / 2)
    for corners, indices, side in ((LEFT_CORNERS, RIGHT_EYE_CORNERS, -1), (RIGHT_CORNERS, LEFT_EYE_CORNERS, 1)):
        drawn_eye(image, corners, iris_shift + side * outward)
        points[list(indices)] = corners
    return image, points


def turned(image: np.ndarray, points: np.ndarray, degrees: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), degrees, scale)
    return cv2.warpAffine(image, matrix, (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT), apply(matrix, points)


def test_an_eye_is_found_again_whatever_the_turn_and_size_of_the_face():
    image, points = face_with_eyes()
    bank = eye_patches(image, points)
    moved = eye_patches(*turned(image, points, degrees=17, scale=0.7))
    assert eye_likeness(moved, bank).min() > 0.9


def test_both_eyes_are_compared_as_one_kind_of_eye():
    """The image-right eye is mirrored: a mirror-symmetric face, each iris toward its outer corner, gives two
    alike patches; the image-right eye unmirrored would not match."""
    image, points = face_with_eyes(outward=5)
    patches = eye_patches(image, points)
    assert float(patches[0] @ patches[1]) > 0.95
    assert np.allclose(np.linalg.norm(patches, axis=1), 1, atol=1e-4)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    unmirrored = eye_patch(grey, points, LEFT_EYE_CORNERS, mirror=False)
    assert float(patches[0] @ unmirrored) < 0.7


def test_skin_where_an_eye_should_be_is_far_from_every_real_eye():
    image, points = face_with_eyes()
    bank = np.concatenate([eye_patches(*face_with_eyes(shift)) for shift in (-4, 0, 4)])
    rng = np.random.default_rng(0)
    smudged = image.copy()
    smudged[55:86, 30:130] = cv2.GaussianBlur(rng.integers(150, 200, (31, 100, 3)).astype(np.uint8), (0, 0), 3)
    assert eye_likeness(eye_patches(smudged, points), bank).max() < 0.3
    assert eye_likeness(eye_patches(*face_with_eyes(2)), bank).min() > 0.8  # a gaze between the bank's


def test_a_flat_patch_is_no_eye():
    flat = np.full((SIZE, SIZE, 3), 128, np.uint8)
    _, points = face_with_eyes()
    patches = eye_patches(flat, points)
    assert not patches.any()
    assert np.all(eye_likeness(patches, eye_patches(*face_with_eyes())) == 0)


def real_crop(video: Path, frame: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """(256, 256, 3) uint8 RGB: a square ``box`` (x0, y0, x1, y1) of one frame of a real video."""
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
    ok, image = capture.read()
    capture.release()
    assert ok, f"{video}: frame {frame} unreadable"
    x0, y0, x1, y1 = box
    return cv2.cvtColor(cv2.resize(image[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


def test_real_eyes_of_another_person_pass_and_skin_in_their_place_does_not(media):
    """vr_2's eyes (three frames) are the bank; lp_s18's own eyes are real eyes of another person, turned and
    looking aside, and stay above the floor ``quality.json`` counts broken eyes by; the same face with its eyes
    painted over with the skin around them (what a swap that cannot draw an eye leaves) falls below it."""
    from swaplab.faces import mesh
    from swaplab.generate.quality import EYE_LIKENESS_FLOOR

    face_mesh = mesh.FaceMesh()
    try:
        bank_faces = [real_crop(media / "talking" / "vr_2.mp4", i, (150, 170, 630, 650)) for i in (0, 60, 120)]
        bank = np.concatenate([eye_patches(face, face_mesh.crop_landmarks(face)) for face in bank_faces])
        probe = real_crop(media / "talking" / "lp_s18.mp4", 0, (594, 65, 954, 425))
        points = face_mesh.crop_landmarks(probe)
    finally:
        face_mesh.close()
    assert points is not None
    eyes = np.zeros(probe.shape[:2], np.uint8)
    for part in (mesh.LEFT_EYE, mesh.RIGHT_EYE):
        cv2.fillConvexPoly(eyes, cv2.convexHull(points[list(part), :2].astype(np.int32)), 1)
    painted = cv2.inpaint(probe, cv2.dilate(eyes, np.ones((9, 9), np.uint8)), 9, cv2.INPAINT_TELEA)
    real, smudged = eye_likeness(eye_patches(probe, points), bank), eye_likeness(eye_patches(painted, points), bank)
    assert real.min() > EYE_LIKENESS_FLOOR + 0.15, real
    assert smudged.max() < EYE_LIKENESS_FLOOR, smudged
