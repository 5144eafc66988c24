"""swaplab.core.media on real footage (../shared/media, see its NOTICE.md): a few frames of each clip."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from swaplab.core.errors import SwaplabError
from swaplab.core.media import iter_frames, probe, read_image, write_video


def first_frames(path: Path, count: int, step: int = 1, start: int = 0) -> list[np.ndarray]:
    return [frame.image for frame in itertools.islice(iter_frames(path), start, start + count * step, step)]


@functools.cache
def _hog_detector():
    return pytest.importorskip("dlib").get_frontal_face_detector()


def upright_faces(image: np.ndarray) -> int:
    """Faces dlib's HOG detector finds; it finds upright frontal faces only, not turned ones."""
    return len(_hog_detector()(np.ascontiguousarray(image), 0))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / mse)


def test_phone_video_stored_rotated_comes_out_upright(media: Path) -> None:
    clip = media / "multi" / "selfie_rotated90.mp4"
    info = probe(clip)
    assert (info.width, info.height, info.rotation) == (640, 480, 90)  # stored 480x640
    frames = first_frames(clip, 2, step=30, start=15)  # frames 15 and 45 show the face
    assert all(frame.shape == (480, 640, 3) for frame in frames)
    with av.open(str(clip)) as container:
        stored = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert stored.shape == (640, 480, 3)
    assert np.array_equal(first_frames(clip, 1)[0], np.rot90(stored, -1))
    for frame in frames:  # the man's face is found upright, and not in the frame as stored
        assert upright_faces(frame) >= 1
        assert upright_faces(np.rot90(frame, 1)) == 0


def test_header_count_above_decoded_is_read_with_a_warning(media: Path, capsys: pytest.CaptureFixture) -> None:
    clip = media / "bad" / "no_face.mp4"  # header: 98 frames; three pre-roll frames are cut by the edit list
    info = probe(clip)
    assert (info.declared_frames, info.frame_count) == (98, 98)
    frames = list(iter_frames(clip, info))
    assert len(frames) == 95 and frames[-1].index == 94
    assert "no_face.mp4: header gives 98 frames, 95 decoded" in capsys.readouterr().err


def test_variable_frame_rate_keeps_real_timestamps(media: Path) -> None:
    clip = media / "talking" / "vr_1.mp4"  # average 22.1 fps: 30 fps frames with gaps
    with av.open(str(clip)) as container:
        expected = [float(frame.pts * frame.time_base) for frame in itertools.islice(container.decode(video=0), 30)]
    stamps = [frame.timestamp for frame in itertools.islice(iter_frames(clip), 30)]
    assert stamps == pytest.approx(expected)
    gaps = np.diff(stamps)
    assert gaps.max() > 1.5 * gaps.min()  # really variable, so index / fps would be wrong


def test_three_codecs_read_alike(media: Path, tmp_path: Path) -> None:
    clips = {codec: media / "multi" / f"codec_{codec}.mp4" for codec in ("h264_mp3", "h265_aac", "mp4v_aac")}
    infos = {codec: probe(clip) for codec, clip in clips.items()}
    assert {(i.width, i.height, i.frame_count) for i in infos.values()} == {(640, 480, 31)}
    assert [i.audio_codec for i in infos.values()] == ["mp3", "aac", "aac"]
    firsts = {codec: first_frames(clip, 3)[0] for codec, clip in clips.items()}
    assert psnr(firsts["h264_mp3"], firsts["h265_aac"]) > 30  # the same scene, decoded in the right colours
    assert psnr(firsts["h264_mp3"], firsts["mp4v_aac"]) > 30
    source = clips["h264_mp3"]
    copy = write_video(first_frames(source, 8), tmp_path / "copy.mp4", fps=infos["h264_mp3"].fps, audio_from=source)
    assert probe(copy).audio_codec == "mp3"  # mp4 holds mp3: copied, not re-encoded


def test_exif_rotated_photo_reads_upright(media: Path) -> None:
    photo = media / "bad" / "exif_rotated_photo.jpg"
    with Image.open(photo) as stored:
        assert stored.getexif().get(0x0112) == 5 and stored.size == (600, 480)
        stored_pixels = np.asarray(stored.convert("RGB"))
    image = read_image(photo)
    assert image.shape == (600, 480, 3)
    info = probe(photo)
    assert (info.kind, info.width, info.height) == ("image", 480, 600)
    assert upright_faces(image) == 1 and upright_faces(stored_pixels) == 0


@pytest.mark.parametrize(("name", "message"), [
    ("corrupt.mp4", "corrupt.mp4: corrupt or truncated video, cannot be opened"),
    ("audio_only.mp4", r"audio_only.mp4: no video stream \(audio only\)"),
])
def test_bad_files_give_one_clear_line(media: Path, name: str, message: str) -> None:
    with pytest.raises(SwaplabError, match=message) as caught:
        probe(media / "bad" / name)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["no_face.mp4", "animated_no_human_face.mp4"])
def test_videos_without_faces_are_readable(media: Path, name: str) -> None:
    """They fail later, in extraction ("no face"), not here."""
    info = probe(media / "bad" / name)
    assert info.kind == "video" and info.rotation == 0
    assert all(frame.shape == (info.height, info.width, 3) for frame in first_frames(info.path, 3))


@pytest.mark.parametrize(("person", "sizes"), [
    ("meds_S001", {(600, 480, 3)}),
    ("meds_S008", {(600, 480, 3), (858, 736, 3)}),  # photos of two sizes: refused before
])
def test_photo_folder(media: Path, person: str, sizes: set) -> None:
    folder = media / "photos" / person
    info = probe(folder)
    assert info.kind == "image-folder" and info.frame_count >= 5 and info.skipped == ()
    assert info.same_size == (len(sizes) == 1)
    frames = list(iter_frames(folder, info))
    assert len(frames) == info.frame_count
    assert {frame.image.shape for frame in frames} == sizes
    assert all(frame.image.dtype == np.uint8 for frame in frames)
