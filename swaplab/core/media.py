"""Reading and writing video, images and image folders (PyAV; no system ffmpeg needed).

Frames are RGB ``uint8`` arrays of shape ``(H, W, 3)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path, require_input_file

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
FOLDER_FPS = 25.0  # frame rate assumed for a folder of images
# Audio codecs an mp4 holds as they are; others are re-encoded to AAC.
_MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus"})
_FFmpegError = av.FFmpegError


@dataclass(frozen=True)
class MediaInfo:
    """What a video, image or image folder holds.

    ``kind`` is ``video``, ``image`` or ``image-folder``; ``audio_codec`` is
    ``None`` when there is no audio stream.
    """

    path: Path
    kind: str
    width: int
    height: int
    fps: float
    frame_count: int
    audio_codec: str | None = None
    audio_rate: int | None = None

    @property
    def duration(self) -> float:
        """Seconds covered by the frames."""
        return self.frame_count / self.fps if self.fps else 0.0


@dataclass(frozen=True)
class Frame:
    """One decoded frame: 0-based ``index``, ``timestamp`` in seconds, RGB ``image`` (H, W, 3)."""

    index: int
    timestamp: float
    image: np.ndarray


def probe(path: Path) -> MediaInfo:
    """Describe a video file, an image file or a folder of images.

    Raises
    ------
    SwaplabError
        Missing path, empty file, unreadable or corrupt media, empty folder.
    """
    path = require_input_file(Path(path))
    if path.is_dir():
        return _probe_folder(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = read_image(path)
        return MediaInfo(path, "image", image.shape[1], image.shape[0], FOLDER_FPS, 1)
    return _probe_video(path)


def _probe_video(path: Path) -> MediaInfo:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise SwaplabError(f"{path}: not a video or image file (no video stream)")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0) or FOLDER_FPS
            count = stream.frames or _count_packets(container, stream)
            audio = container.streams.audio[0] if container.streams.audio else None
            return MediaInfo(
                path, "video", stream.codec_context.width, stream.codec_context.height, fps, count,
                audio.codec_context.name if audio else None, audio.rate if audio else None,
            )
    except _FFmpegError as err:
        raise SwaplabError(f"{path}: {_describe_open_failure(path)} ({err.strerror})") from None


def _describe_open_failure(path: Path) -> str:
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "corrupt or truncated video, cannot be opened"
    return "not a video or image file"


def _count_packets(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    count = sum(1 for packet in container.demux(stream) if packet.size)
    container.seek(0)
    return count


def _probe_folder(path: Path) -> MediaInfo:
    files = image_files(path)
    first = read_image(files[0])
    return MediaInfo(path, "image-folder", first.shape[1], first.shape[0], FOLDER_FPS, len(files))


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; error if none.

    Files named only by digits with no suffix count too (VidTIMIT's frames: 001, 002, ...).
    """
    files = sorted(p for p in Path(folder).iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES or (not p.suffix and p.name.isdigit() and p.is_file()))
    if not files:
        raise SwaplabError(f"{folder}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def read_image(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3)."""
    path = require_input_file(Path(path))
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise SwaplabError(f"{path}: not a readable image (corrupt or unknown format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(path: Path, image: np.ndarray) -> None:
    """Write an RGB uint8 image; the format follows the suffix (png, jpg)."""
    ok, encoded = cv2.imencode(Path(path).suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise SwaplabError(f"{path}: could not encode image")
    with atomic_path(Path(path)) as tmp:
        encoded.tofile(tmp)


def iter_frames(path: Path, info: MediaInfo | None = None) -> Iterator[Frame]:
    """Decode every frame of a video, image or image folder, in order.

    Raises
    ------
    SwaplabError
        When decoding fails part-way or fewer frames decode than the
        container announces (a truncated file).
    """
    info = info or probe(path)
    if info.kind == "image":
        yield Frame(0, 0.0, read_image(info.path))
    elif info.kind == "image-folder":
        yield from _iter_folder(info)
    else:
        yield from _iter_video(info)


def _iter_folder(info: MediaInfo) -> Iterator[Frame]:
    for index, file in enumerate(image_files(info.path)):
        image = read_image(file)
        if image.shape[:2] != (info.height, info.width):
            raise SwaplabError(f"{file}: size {image.shape[1]}x{image.shape[0]} differs from the folder's first image")
        yield Frame(index, index / info.fps, image)


def _iter_video(info: MediaInfo) -> Iterator[Frame]:
    index = 0
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                stamp = float(frame.time) if frame.time is not None else index / info.fps
                yield Frame(index, stamp, frame.to_ndarray(format="rgb24"))
                index += 1
    except _FFmpegError as err:
        raise SwaplabError(
            f"{info.path}: corrupt or truncated video, decoding failed after frame {index} ({err.strerror})"
        ) from None
    if index < info.frame_count - 1:
        raise SwaplabError(
            f"{info.path}: truncated video, decoded {index} of {info.frame_count} frames"
        )


def write_video(
    frames: Iterable[np.ndarray],
    target: Path,
    *,
    fps: float,
    audio_from: Path | None = None,
    metadata: dict[str, str] | None = None,
    crf: int = 18,
) -> Path:
    """Encode RGB frames as H.264 mp4, copying the audio of ``audio_from``.

    Parameters
    ----------
    frames : iterable of ndarray
        RGB uint8 frames, all of shape (H, W, 3) with even H and W.
    target : Path
        Output ``.mp4``; written to a temporary name and renamed when complete.
    fps : float
        Frame rate.
    audio_from : Path, optional
        A media file whose first audio stream is copied (re-encoded to AAC when
        mp4 cannot hold its codec).
    metadata : dict, optional
        Container metadata tags (for example ``comment``); custom keys are kept.
    crf : int
        x264 constant rate factor (lower = better quality).
    """
    target = Path(target)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise SwaplabError(f"{target}: no frames to write")
    with atomic_path(target) as tmp:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "use_metadata_tags"}) as out:
            out.metadata.update(metadata or {})
            video = add_h264_stream(out, first.shape[1], first.shape[0], fps, crf)
            source = av.open(str(audio_from)) if audio_from is not None else None
            try:
                audio = _add_audio_like(out, source)
                for image in itertools.chain([first], frames):
                    out.mux(video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
                out.mux(video.encode(None))
                if audio is not None:
                    _copy_audio(source, audio, out)
            finally:
                if source is not None:
                    source.close()
    return target


def add_h264_stream(out: av.container.OutputContainer, width: int, height: int, fps: float, crf: int = 18) -> av.VideoStream:
    """Add an H.264 (yuv420p) stream; H.264 needs an even width and height."""
    if height % 2 or width % 2:
        raise SwaplabError(f"H.264 needs an even frame size, got {width}x{height}")
    stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"crf": str(crf), "preset": "medium"}
    return stream


def _add_audio_like(out: av.container.OutputContainer, source: av.container.InputContainer | None) -> av.AudioStream | None:
    if source is None or not source.streams.audio:
        return None
    in_audio = source.streams.audio[0]
    if in_audio.codec_context.name in _MP4_AUDIO:
        return out.add_stream_from_template(in_audio)
    return add_aac_stream(out, in_audio.rate, in_audio.layout.name)


def _copy_audio(source: av.container.InputContainer, audio: av.AudioStream, out: av.container.OutputContainer) -> None:
    in_audio = source.streams.audio[0]
    if in_audio.codec_context.name in _MP4_AUDIO:
        for packet in source.demux(in_audio):
            if packet.dts is not None:
                packet.stream = audio
                out.mux(packet)
        return
    for frame in source.decode(in_audio):
        frame.pts = None
        out.mux(audio.encode(frame))
    out.mux(audio.encode(None))


def add_aac_stream(out: av.container.OutputContainer, rate: int, layout: str = "mono") -> av.AudioStream:
    """Add an AAC audio stream to ``out``."""
    stream = out.add_stream("aac", rate=rate)
    stream.layout = layout
    return stream


def encode_audio(out: av.container.OutputContainer, stream: av.AudioStream, samples: np.ndarray) -> None:
    """Encode mono float samples in [-1, 1], shape (n,), into the AAC ``stream`` of ``out``."""
    block = 1024
    for start in range(0, len(samples), block):
        chunk = np.ascontiguousarray(samples[None, start:start + block], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate = stream.rate
        frame.pts = start
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
