from pathlib import Path

import cv2
import numpy as np
import pytest

from swaplab.datasets import sample
from swaplab.datasets.manifest import read_manifest
from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import sha256_of
from swaplab.faces import align
from swaplab.faces.detector import FaceDetector
from swaplab.faces.extract import ExtractConfig, run
from swaplab.core.media import read_image, write_image, write_video


def ground_truth_landmarks(portrait_index: int, frames: int) -> np.ndarray:
    """Landmarks of the still, carried through the sample's known head motion: (T, 5, 2)."""
    portrait = sample.PORTRAITS[portrait_index]
    still = portrait.load()
    still_lm = max(FaceDetector().detect(still[None])[0], key=lambda d: d.area).landmarks
    motion = sample.Motion.draw(np.random.default_rng(portrait_index * 100))
    return np.stack([
        cv2.perspectiveTransform(still_lm[None], sample.frame_homography(portrait, motion, t / 25, (640, 360)))[0]
        for t in range(frames)
    ])


@pytest.fixture(scope="module")
def extracted(astronaut_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faces")
    return run(ExtractConfig(inputs=(astronaut_clip,), out=out, identity="astronaut", crop_size=128,
                             detect_every=4))


def test_extraction_follows_the_known_head_motion(extracted: Path, astronaut_clip: Path) -> None:
    records = read_manifest(extracted)
    assert len(records) == 50 and all(r.has_face for r in records)
    assert {r.landmark_source for r in records} == {"detected", "tracked"}
    assert {r.identity for r in records} == {"astronaut"} and records[0].source_sha256 == sha256_of(astronaut_clip)
    truth = ground_truth_landmarks(0, 50)
    found = np.stack([r.landmarks_array for r in records])
    inter_ocular = np.linalg.norm(truth[:, 0] - truth[:, 1], axis=1).mean()
    error = np.linalg.norm(found - truth, axis=2).mean()
    assert error < 0.08 * inter_ocular, f"mean landmark error {error:.2f} px"


def test_crops_are_aligned_and_paste_back(extracted: Path) -> None:
    records = read_manifest(extracted)
    template = align.template(128, "whole_face")
    for record in records[::10]:
        crop = read_image(extracted.parent / record.crop_path)
        assert crop.shape == (128, 128, 3)
        in_crop = align.apply(record.matrix_array, record.landmarks_array)
        assert np.abs(in_crop - template).max() < 6  # the 5 points land on the template
        back = align.apply(align.invert(record.matrix_array), in_crop)
        np.testing.assert_allclose(back, record.landmarks_array, atol=1e-6)
    assert (extracted.parent / "extract_config.json").is_file()


def two_face_folder(folder: Path) -> tuple[Path, Path]:
    """Frames with a large astronaut and a smaller Grace Hopper, plus a reference photo of Hopper."""
    astronaut, hopper = (p.load() for p in sample.PORTRAITS)
    folder.mkdir()
    for k in range(5):
        canvas = np.full((360, 640, 3), 90, np.uint8)
        big = cv2.resize(astronaut[0:260, 95:355], (330, 330))  # face about 110 px wide
        small = cv2.resize(hopper[100:400, 115:415], (150, 150))  # face about 90 px wide
        canvas[10:340, 20 + k:350 + k] = big
        canvas[80:230, 450 - k:600 - k] = small
        write_image(folder / f"{k:04d}.png", canvas)
    reference = folder.parent / "hopper_ref.png"
    write_image(reference, hopper)
    return folder, reference


def test_several_faces_largest_track_or_identity_reference(tmp_path: Path) -> None:
    folder, reference = two_face_folder(tmp_path / "frames")
    default = read_manifest(run(ExtractConfig(inputs=(folder,), out=tmp_path / "a", detect_every=2)))
    assert {r.selection for r in default} == {"largest-cluster"}
    assert all(r.has_face and r.bbox[0] < 320 for r in default)  # the large, left face
    chosen = read_manifest(run(ExtractConfig(inputs=(folder,), out=tmp_path / "b", identity_ref=reference)))
    assert {r.selection for r in chosen} == {"identity-ref"}
    assert all(r.has_face and r.bbox[0] > 320 for r in chosen)  # Grace Hopper, on the right


def test_frames_without_a_face_are_recorded(tmp_path: Path, astronaut_clip: Path) -> None:
    from swaplab.core.media import iter_frames

    frames = [f.image for f in iter_frames(astronaut_clip)][:12]
    for k in range(4, 8):
        frames[k] = np.full_like(frames[k], 40)
    clip = write_video(frames, tmp_path / "gap.mp4", fps=25)
    records = read_manifest(run(ExtractConfig(inputs=(clip,), out=tmp_path / "out", detect_every=3, smooth=3)))
    assert [r.has_face for r in records] == [True] * 4 + [False] * 4 + [True] * 4
    assert all(r.crop_path == "" and np.isnan(r.bbox[0]) for r in records[4:8])
    assert {r.landmark_source for r in records if r.has_face} == {"smoothed"}


def test_a_video_without_faces_is_an_error(tmp_path: Path) -> None:
    clip = write_video([np.full((64, 64, 3), v, np.uint8) for v in range(0, 200, 20)], tmp_path / "x.mp4", fps=25)
    with pytest.raises(SwaplabError, match="x.mp4: no face found in any of 10 frames"):
        run(ExtractConfig(inputs=(clip,), out=tmp_path / "out"))
    assert not (tmp_path / "out" / "faces.csv").exists()
    with pytest.raises(SwaplabError, match="min_face_score 1.5: an MTCNN score, 0 to 1"):
        ExtractConfig(inputs=(clip,), out=tmp_path / "out", min_face_score=1.5)


def test_outputs_of_a_left_out_input_are_removed_and_nothing_beside_them(tmp_path: Path) -> None:
    from swaplab.datasets.outputs import ExtractOutput
    from swaplab.faces.extract import remove_outputs_of

    out = ExtractOutput(tmp_path / "out")
    kept = [out.crops / "kept" / "000000_00.png", out.mesh("kept"), out.manifest]
    left = [out.crops / "left" / "000000_00.png", out.mesh("left")]
    for path in kept + left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for odd in ("", ".", ".."):  # ids of inputs named so: never crops/ itself or the output folder
        remove_outputs_of(out, odd)
    assert all(path.exists() for path in kept + left)
    remove_outputs_of(out, "left")
    assert all(path.exists() for path in kept) and not any(path.exists() for path in left)
    assert not (out.crops / "left").exists()
