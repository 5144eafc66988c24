from pathlib import Path

import av
import numpy as np
import pytest

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import sha256_of
from swaplab.core.media import iter_frames, probe, write_image, write_video


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
