from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import sha256_of
from swaplab.core.media import (
    add_aac_stream,
    add_h264_stream,
    encode_audio,
    iter_frames,
    pad_to_even,
    probe,
    read_image,
    write_image,
    write_video,
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / mse)


def test_video_round_trip_keeps_frames_fps_and_audio(astronaut_clip: Path, tmp_path: Path) -> None:
    info = probe(astronaut_clip)
    frames = [frame.image for frame in iter_frames(astronaut_clip)]
    before = sha256_of(astronaut_clip)
    target = write_video(frames, tmp_path / "copy.mp4", fps=info.fps, audio_from=astronaut_clip,
                         metadata={"comment": "round trip", "swaplab_synthetic": "1"})
    copy = probe(target)
    assert (copy.width, copy.height, copy.fps, copy.frame_count) == (info.width, info.height, info.fps, len(frames))
    assert copy.audio_codec == "aac" and copy.audio_rate == info.audio_rate
    back = [frame.image for frame in iter_frames(target)]
    assert min(psnr(a, b) for a, b in zip(frames, back, strict=True)) > 35
    with av.open(str(target)) as container:
        assert container.metadata.get("swaplab_synthetic") == "1"
        src_audio = sum(p.size for p in av.open(str(astronaut_clip)).demux(audio=0) if p.size)
        out_audio = sum(p.size for p in container.demux(audio=0) if p.size)
        assert out_audio == src_audio  # copied packet for packet, not re-encoded
    assert sha256_of(astronaut_clip) == before  # inputs are never modified
    stamps = [frame.timestamp for frame in iter_frames(target)]
    assert stamps[1] - stamps[0] == pytest.approx(1 / info.fps)


def test_image_and_image_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(3)]
    for k, image in enumerate(images):
        write_image(tmp_path / f"{k:03d}.png", image)
    info = probe(tmp_path)
    assert (info.kind, info.frame_count, info.width, info.height) == ("image-folder", 3, 64, 48)
    decoded = list(iter_frames(tmp_path))
    assert all(np.array_equal(f.image, im) for f, im in zip(decoded, images, strict=True))
    single = probe(tmp_path / "001.png")
    assert single.kind == "image" and single.frame_count == 1


def test_other_containers_are_read(astronaut_clip: Path, tmp_path: Path) -> None:
    frames = [frame.image for frame in iter_frames(astronaut_clip)][:10]
    for suffix, codec in ((".mkv", "libx264"), (".avi", "mpeg4"), (".webm", "libvpx")):
        if codec not in av.codecs_available:
            continue
        target = tmp_path / f"clip{suffix}"
        with av.open(str(target), "w") as out:
            stream = out.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
            for image in frames:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            out.mux(stream.encode(None))
        assert len(list(iter_frames(target))) == 10, suffix


def test_bad_files_fail_with_one_clear_message(astronaut_clip: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(SwaplabError, match="empty.mp4: file is empty"):
        probe(empty)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SwaplabError, match="notes.txt: not a video or image file"):
        probe(text)
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(astronaut_clip.read_bytes()[: astronaut_clip.stat().st_size // 2])
    with pytest.raises(SwaplabError, match="cut.mp4: corrupt or truncated video"):
        list(iter_frames(truncated))
    with pytest.raises(SwaplabError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    broken_png = tmp_path / "x.png"
    broken_png.write_bytes(b"\x89PNG not really")
    with pytest.raises(SwaplabError, match="x.png: not a readable image"):
        probe(broken_png)


# --- real-footage input handling (issue 9): synthetic files made here; real clips in test_media_real.py


def _encode(target: Path, images: list[np.ndarray], *, codec: str = "libx264", pix_fmt: str = "yuv420p",
            rotation: int | None = None, options: dict | None = None) -> Path:
    """Encode ``images`` (RGB, one size) with PyAV; ``rotation`` is a counter-clockwise display rotation."""
    with av.open(str(target), "w", options=options or {}) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = images[0].shape[1], images[0].shape[0], pix_fmt
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return target


def _marked(height: int, width: int) -> np.ndarray:
    """Black frame with a white top-left quarter: shows any turn or flip."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = 255
    return image


@pytest.mark.parametrize(("stored_ccw", "clockwise"), [(-90, 90), (90, 270), (180, 180)])
def test_rotated_video_comes_out_upright(tmp_path: Path, stored_ccw: int, clockwise: int) -> None:
    if not hasattr(av.VideoStream, "set_display_rotation") or not hasattr(av.VideoFrame, "rotation"):
        pytest.skip("this PyAV cannot write or read a display rotation")
    stored = _marked(48, 32)
    clip = _encode(tmp_path / "phone.mp4", [stored] * 4, rotation=stored_ccw)
    info = probe(clip)
    upright = np.rot90(stored, -clockwise // 90)
    assert info.rotation == clockwise
    assert (info.height, info.width) == upright.shape[:2]
    frames = [frame.image for frame in iter_frames(clip)]
    assert len(frames) == 4 and all(f.shape == upright.shape and f.flags.c_contiguous for f in frames)
    assert np.abs(frames[0].astype(int) - upright).mean() < 8


def test_header_frame_count_is_an_estimate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A file whose header announces more frames than decode is read, with a warning (was refused)."""
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(30)]
    whole = _encode(tmp_path / "whole.mp4", images, options={"movflags": "faststart"})
    with av.open(str(whole)) as container:
        cut_at = [packet.pos for packet in container.demux(video=0) if packet.size][20]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:cut_at])  # moov first, so the header still says 30
    info = probe(cut)
    assert info.declared_frames == info.frame_count == 30
    decoded = list(iter_frames(cut, info))
    assert 0 < len(decoded) < 30
    assert [frame.index for frame in decoded] == list(range(len(decoded)))
    assert f"header gives 30 frames, {len(decoded)} decoded" in capsys.readouterr().err


def test_variable_frame_rate_keeps_each_frame_time(tmp_path: Path) -> None:
    stamps_ms = [0, 40, 100, 300, 310, 500]
    target = tmp_path / "vfr.mp4"
    with av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for stamp in stamps_ms:
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), stamp % 250, np.uint8), format="rgb24")
            frame.pts, frame.time_base = stamp, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert [frame.timestamp for frame in iter_frames(target)] == pytest.approx([s / 1000 for s in stamps_ms])


def _pil_save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def test_images_of_any_mode_come_out_rgb_uint8(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rgb = cv2.GaussianBlur(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8), (7, 7), 2)
    base = Image.fromarray(rgb)
    gray = np.asarray(base.convert("L"))
    deep = (rgb.astype(np.uint16) * 257)  # 16 bit, exactly rgb once scaled back to 8
    cv2.imwrite(str(tmp_path / "rgb16.png"), deep[..., ::-1])
    cv2.imwrite(str(tmp_path / "gray16.png"), deep[..., 0])
    cases = {
        "gray.png": (_pil_save(base.convert("L"), tmp_path / "gray.png"), np.dstack([gray] * 3)),
        "rgba.png": (_pil_save(Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 90, np.uint8)])),
                               tmp_path / "rgba.png"), rgb),
        "palette.png": (_pil_save(base.convert("P"), tmp_path / "palette.png"),
                        np.asarray(base.convert("P").convert("RGB"))),
        "cmyk.jpg": (_pil_save(base.convert("CMYK"), tmp_path / "cmyk.jpg", quality=95), rgb),
        "rgb16.png": (tmp_path / "rgb16.png", rgb),
        "gray16.png": (tmp_path / "gray16.png", np.dstack([rgb[..., 0]] * 3)),
    }
    for name, (path, expected) in cases.items():
        image = read_image(path)
        assert image.dtype == np.uint8 and image.shape == (40, 60, 3), name
        assert np.abs(image.astype(int) - expected).mean() < 4, name
        assert probe(path).kind == "image" and (probe(path).width, probe(path).height) == (60, 40), name


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    stored = Image.fromarray(_marked(40, 60))
    exif = stored.getexif()
    exif[0x0112] = orientation
    path = _pil_save(stored, tmp_path / "photo.jpg", exif=exif.tobytes(), quality=95)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB")).astype(int)
    image = read_image(path)
    assert image.shape == expected.shape
    assert np.abs(image.astype(int) - expected).mean() < 4
    assert (orientation >= 5) == (image.shape[:2] == (60, 40))  # 5-8 swap width and height


def test_folder_of_photos_of_any_size(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(3)
    shapes = [(48, 64, 3), (120, 90, 3), (33, 41, 3)]
    images = [rng.integers(0, 255, shape, dtype=np.uint8) for shape in shapes]
    for k, image in enumerate(images):
        write_image(tmp_path / f"{k:03d}.png", image)
    (tmp_path / "001b.jpg").write_bytes(b"\xff\xd8 not a jpeg at all")
    (tmp_path / "._000.png").write_bytes(b"macOS resource fork")  # hidden: not an image, not a warning
    info = probe(tmp_path)
    assert (info.kind, info.frame_count, info.width, info.height) == ("image-folder", 3, 64, 48)
    assert info.skipped == (tmp_path / "001b.jpg",) and not info.same_size
    err = capsys.readouterr().err
    assert "001b.jpg: not a readable image" in err and "skipped" in err and "._000" not in err
    frames = list(iter_frames(tmp_path, info))
    assert [frame.index for frame in frames] == [0, 1, 2]
    assert all(np.array_equal(f.image, im) for f, im in zip(frames, images, strict=True))


def test_folder_without_a_readable_image_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"garbage")
    (tmp_path / "b.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(SwaplabError, match="folder holds no readable image"):
        probe(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no photos here")
    with pytest.raises(SwaplabError, match="folder holds no images"):
        probe(empty)


def test_odd_frame_sizes_read_and_write(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    images = [cv2.GaussianBlur(rng.integers(0, 255, (359, 641, 3), dtype=np.uint8), (9, 9), 3) for _ in range(3)]
    lossless = _encode(tmp_path / "odd.mkv", images, codec="ffv1", pix_fmt="bgr0")
    info = probe(lossless)
    assert (info.width, info.height) == (641, 359)
    read = [frame.image for frame in iter_frames(lossless)]
    assert all(np.array_equal(a, b) for a, b in zip(read, images, strict=True))
    target = write_video(read, tmp_path / "odd.mp4", fps=25)  # padded by one row and one column
    written = probe(target)
    assert (written.width, written.height, written.frame_count) == (642, 360, 3)
    back = [frame.image for frame in iter_frames(target)]
    assert min(psnr(a[:359, :641], b) for a, b in zip(back, images, strict=True)) > 35
    padded = pad_to_even(images[0])  # the pad repeats the edge; the source pixels stay in place
    assert padded.shape == (360, 642, 3) and np.array_equal(padded[:359, :641], images[0])
    assert np.array_equal(padded[359, :641], images[0][358]) and np.array_equal(padded[:359, 641], images[0][:, 640])
    with av.open(str(tmp_path / "direct.mp4"), "w") as out:
        stream = add_h264_stream(out, 641, 359, 25)
        assert (stream.width, stream.height) == (642, 360)


def test_write_video_refuses_frames_of_several_sizes(tmp_path: Path) -> None:
    frames = [np.zeros((32, 32, 3), np.uint8), np.zeros((32, 48, 3), np.uint8)]
    with pytest.raises(SwaplabError, match="frame 1 has shape"):
        write_video(frames, tmp_path / "mixed.mp4", fps=25)
    assert not (tmp_path / "mixed.mp4").exists()


def test_audio_only_file_says_no_video_stream(tmp_path: Path) -> None:
    target = tmp_path / "voice.mp4"
    with av.open(str(target), "w") as out:
        encode_audio(out, add_aac_stream(out, 16000), np.sin(np.linspace(0, 400, 16000)).astype(np.float32) * 0.1)
    with pytest.raises(SwaplabError, match=r"voice.mp4: no video stream \(audio only\)"):
        probe(target)
    with pytest.raises(SwaplabError, match="is a folder, not an image file"):
        read_image(tmp_path)
