"""Reading and writing video, images and image folders (PyAV and OpenCV; no system ffmpeg needed).

Every frame comes out upright as an RGB ``uint8`` array of shape ``(H, W, 3)``, whatever the source:

- video: any codec and container FFmpeg reads (H.264, H.265, MPEG-4 part 2, VP8/9, ...). A phone
  video stored sideways with a display-matrix rotation is turned upright (``MediaInfo.rotation``);
  each frame keeps its real timestamp (``pts * time_base``), so variable frame rate is kept; the
  container header's frame count is only an estimate: the frames that decode are the frames.
- images: EXIF orientation is applied; grayscale, palette, CMYK and 16-bit images are converted
  to 8-bit RGB; an alpha channel is dropped (not composited).
- image folders: each image is one frame with its own size (use ``frame.image.shape``); a file
  that cannot be read is skipped with a warning and listed in ``MediaInfo.skipped``.

Bad input (missing, empty, corrupt, no video stream, no readable image) raises one
:class:`SwaplabError` line naming the file.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import atomic_path, require_input_file
from swaplab.core.images import IMAGE_SUFFIXES, read_image, write_image  # noqa: F401 (media's API)

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"})
FOLDER_FPS = 25.0  # frame rate assumed for a folder of images
# Audio codecs an mp4 holds as they are; others are re-encoded to AAC.
_MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus"})
_FFmpegError = av.FFmpegError


@dataclass(frozen=True)
class MediaInfo:
    """What a video, image or image folder holds.

    Attributes
    ----------
    path : Path
        The file or folder.
    kind : str
        ``video``, ``image`` or ``image-folder``.
    width, height : int
        Displayed (upright) size of the frames: after the rotation of a video and the EXIF
        orientation of an image. For an image folder, the size of its first readable image:
        images in a folder may differ in size (see ``same_size``), so code that handles frames
        must use ``frame.image.shape``, never these two.
    fps : float
        Average frame rate (``FOLDER_FPS`` for images). With variable frame rate, use the
        frames' own timestamps.
    frame_count : int
        Frames to expect. Exact for images and folders; for a video it is the container
        header's count (or the packet count when the header has none), an estimate: what
        :func:`iter_frames` yields is what decodes, which may be a few frames fewer (for
        example frames dropped by an edit list). Fine for progress bars and sampling steps.
    audio_codec, audio_rate : str or None, int or None
        First audio stream's codec and sample rate; ``None`` without audio.
    declared_frames : int or None
        A video's frame count as its header states it (``None`` when the header has none,
        and for images).
    rotation : int
        Degrees (0, 90, 180 or 270, clockwise, as phones and FFmpeg's ``rotate`` tag count) by
        which a video's stored frames are turned to display upright (its display matrix);
        ``width`` and ``height`` are after the turn. A phone video stored 480x640 with
        ``rotation=90`` yields 640x480 frames.
    skipped : tuple of Path
        Files of an image folder that could not be read and are left out (each reported
        on stderr).
    same_size : bool
        False when the images of a folder differ in size.
    """

    path: Path
    kind: str
    width: int
    height: int
    fps: float
    frame_count: int
    audio_codec: str | None = None
    audio_rate: int | None = None
    declared_frames: int | None = None
    rotation: int = 0
    skipped: tuple[Path, ...] = ()
    same_size: bool = True

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (estimated, see ``frame_count``)."""
        return self.frame_count / self.fps if self.fps else 0.0


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes
    ----------
    index : int
        0-based position among the frames yielded.
    timestamp : float
        Seconds: a video frame's presentation time (``pts * time_base``, exact with variable
        frame rate); ``index / FOLDER_FPS`` for images.
    image : ndarray
        Upright RGB uint8, shape (H, W, 3). In an image folder each frame has its own size.
    """

    index: int
    timestamp: float
    image: np.ndarray


def warn(message: str) -> None:
    """Print ``warning: <message>`` on stderr (input oddities that are handled, not fatal)."""
    print(f"warning: {message}", file=sys.stderr)


def probe(path: Path) -> MediaInfo:
    """Describe a video file, an image file or a folder of images.

    A folder's images are all decoded once here, so that unreadable files are known (and
    skipped) before any frame is handed out.

    Raises
    ------
    SwaplabError
        Missing path, empty file, unreadable or corrupt media, a file with no video stream,
        a video whose first frame does not decode, a folder with no readable image.
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
            stream = _video_stream(path, container)
            fps = float(stream.average_rate or stream.guessed_rate or 0) or FOLDER_FPS
            count = stream.frames or _count_packets(container, stream)
            first = _first_frame(path, container, stream)
            rotation = _rotation_of(first, stream)
            width, height = (first.height, first.width) if rotation % 180 else (first.width, first.height)
            audio = container.streams.audio[0] if container.streams.audio else None
            return MediaInfo(
                path, "video", width, height, fps, count,
                _codec_name(audio) if audio else None, audio.rate if audio else None,
                declared_frames=stream.frames or None, rotation=rotation,
            )
    except _FFmpegError as err:
        raise SwaplabError(f"{path}: {_describe_open_failure(path)} ({err.strerror})") from None


def _video_stream(path: Path, container: av.container.InputContainer) -> av.VideoStream:
    """The first video stream that is not a still cover picture (as in an mp3 or m4a with album art)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    if container.streams.audio:
        raise SwaplabError(f"{path}: no video stream (audio only), not a video or image file")
    raise SwaplabError(f"{path}: not a video or image file (no video stream)")


def _codec_name(stream: av.stream.Stream) -> str:
    """The codec's own name (``mp3``), not its decoder's (``mp3float``)."""
    codec = stream.codec_context.codec
    return getattr(codec, "canonical_name", None) or codec.name


def _describe_open_failure(path: Path) -> str:
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "corrupt or truncated video, cannot be opened"
    return "not a video or image file"


def _count_packets(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    count = sum(1 for packet in container.demux(stream) if packet.size)
    container.seek(0)
    return count


def _first_frame(path: Path, container: av.container.InputContainer, stream: av.VideoStream) -> av.VideoFrame:
    for frame in container.decode(stream):
        return frame
    raise SwaplabError(f"{path}: corrupt video, not one frame decodes")


def _rotation_of(frame: av.VideoFrame, stream: av.VideoStream) -> int:
    """The display matrix's rotation, rounded to a quarter turn.

    PyAV >= 14 gives it per frame (counter-clockwise degrees); older PyAV only shows FFmpeg's
    legacy ``rotate`` tag (clockwise degrees). Returns clockwise degrees. A mirroring display
    matrix is not applied.
    """
    counter_clockwise = getattr(frame, "rotation", None)
    if counter_clockwise is None:
        counter_clockwise = -float(stream.metadata.get("rotate", 0) or 0)
    return int(round(-counter_clockwise / 90)) % 4 * 90


def _probe_folder(path: Path) -> MediaInfo:
    readable: list[Path] = []
    skipped: list[Path] = []
    sizes: set[tuple[int, int]] = set()
    first: np.ndarray | None = None
    for file in image_files(path):
        try:
            image = read_image(file)
        except SwaplabError as err:
            warn(f"{err}; skipped")
            skipped.append(file)
            continue
        first = image if first is None else first
        readable.append(file)
        sizes.add(image.shape[:2])
    if first is None:
        raise SwaplabError(f"{path}: folder holds no readable image ({len(skipped)} files tried, none decodes)")
    return MediaInfo(path, "image-folder", first.shape[1], first.shape[0], FOLDER_FPS, len(readable),
                     skipped=tuple(skipped), same_size=len(sizes) == 1)


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; error if none.

    Files named only by digits with no suffix count too (VidTIMIT's frames: 001, 002, ...).
    Hidden files (name starting with ``.``, such as macOS ``._IMG_0001.jpg``) are not images.
    """
    files = sorted(p for p in Path(folder).iterdir() if not p.name.startswith(".") and _looks_like_image(p))
    if not files:
        raise SwaplabError(f"{folder}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def _looks_like_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or (not path.suffix and path.name.isdigit() and path.is_file())


def iter_frames(path: Path, info: MediaInfo | None = None) -> Iterator[Frame]:
    """Decode every frame of a video, image or image folder, in order, upright.

    A video yields the frames that decode, with their own timestamps; when that is not the
    header's count, a warning says so on stderr. An image folder yields its readable images
    (``info.skipped`` lists the others), each at its own size.

    Raises
    ------
    SwaplabError
        When decoding fails part-way (a corrupt stream), or an image of a folder can no
        longer be read.
    """
    info = info or probe(path)
    if info.kind == "image":
        yield Frame(0, 0.0, read_image(info.path))
    elif info.kind == "image-folder":
        yield from _iter_folder(info)
    else:
        yield from _iter_video(info)


def _iter_folder(info: MediaInfo) -> Iterator[Frame]:
    skipped = set(info.skipped)
    files = [file for file in image_files(info.path) if file not in skipped]
    for index, file in enumerate(files):
        yield Frame(index, index / info.fps, read_image(file))


def _iter_video(info: MediaInfo) -> Iterator[Frame]:
    index = 0
    turns = -info.rotation // 90  # np.rot90 turns counter-clockwise
    try:
        with av.open(str(info.path)) as container:
            stream = _video_stream(info.path, container)
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                stamp = float(frame.time) if frame.time is not None else index / info.fps
                yield Frame(index, stamp, _upright(frame.to_ndarray(format="rgb24"), turns))
                index += 1
    except _FFmpegError as err:
        raise SwaplabError(
            f"{info.path}: corrupt or truncated video, decoding failed after frame {index} ({err.strerror})"
        ) from None
    if index != info.frame_count:
        expected = "header gives" if info.declared_frames else "packet count gives"
        warn(f"{info.path}: {expected} {info.frame_count} frames, {index} decoded; using the {index} decoded")


def _upright(image: np.ndarray, turns: int) -> np.ndarray:
    """``image`` turned ``turns`` quarter turns counter-clockwise (contiguous)."""
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def pad_to_even(image: np.ndarray) -> np.ndarray:
    """Pad an odd height or width by one row or column at the bottom or right (edge pixels repeated).

    H.264 in yuv420p needs an even size; padding keeps every source pixel at its place
    (coordinates from the top-left corner do not move). Shape (H, W, C) -> (H + H % 2, W + W % 2, C).
    """
    height, width = image.shape[:2]
    if not (height % 2 or width % 2):
        return image
    pad = ((0, height % 2), (0, width % 2)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, pad, mode="edge")


def write_video(
    frames: Iterable[np.ndarray],
    target: Path,
    *,
    fps: float,
    audio_from: Path | None = None,
    audio_window: tuple[float, float] | None = None,
    metadata: dict[str, str] | None = None,
    crf: int = 18,
) -> Path:
    """Encode RGB frames as H.264 mp4, copying the audio of ``audio_from``.

    Parameters
    ----------
    frames : iterable of ndarray
        RGB uint8 frames, all of the same shape (H, W, 3). An odd H or W is padded by one
        row (bottom) or column (right) repeating the edge (see :func:`pad_to_even`), as
        H.264 needs an even size: the video is then (H + H % 2) x (W + W % 2).
    target : Path
        Output ``.mp4``; written to a temporary name and renamed when complete.
    fps : float
        Frame rate.
    audio_from : Path, optional
        A media file whose first audio stream is copied (re-encoded to AAC when
        mp4 cannot hold its codec).
    audio_window : (start, end) seconds, optional
        Keep only this part of ``audio_from``'s audio (re-encoded to AAC), e.g. for a segment
        cut out of a longer video: the audio then starts with the segment's first frame.
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
                audio = _add_audio_like(out, source, audio_window is not None)
                for index, image in enumerate(itertools.chain([first], frames)):
                    _check_same_shape(target, index, image, first)
                    padded = np.ascontiguousarray(pad_to_even(image))
                    out.mux(video.encode(av.VideoFrame.from_ndarray(padded, format="rgb24")))
                out.mux(video.encode(None))
                if audio is not None and audio_window is not None:
                    _copy_audio_window(source, audio, out, audio_window)
                elif audio is not None:
                    _copy_audio(source, audio, out)
            finally:
                if source is not None:
                    source.close()
    return target


def _check_same_shape(target: Path, index: int, image: np.ndarray, first: np.ndarray) -> None:
    if image.shape != first.shape:
        raise SwaplabError(f"{target}: frame {index} has shape {image.shape}, the video's first frame {first.shape}; "
                           "a video needs frames of one size")


def add_h264_stream(out: av.container.OutputContainer, width: int, height: int, fps: float, crf: int = 18) -> av.VideoStream:
    """Add an H.264 (yuv420p) stream for frames of ``width`` x ``height``.

    H.264 in yuv420p needs an even size: an odd width or height is rounded up by one, and the
    caller must pad its frames the same way (:func:`pad_to_even`), or PyAV would rescale them.
    """
    stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height, stream.pix_fmt = width + width % 2, height + height % 2, "yuv420p"
    stream.options = {"crf": str(crf), "preset": "medium"}
    return stream


def _add_audio_like(out: av.container.OutputContainer, source: av.container.InputContainer | None,
                    reencode: bool = False) -> av.AudioStream | None:
    if source is None or not source.streams.audio:
        return None
    in_audio = source.streams.audio[0]
    if _codec_name(in_audio) in _MP4_AUDIO and not reencode:
        return out.add_stream_from_template(in_audio)
    return add_aac_stream(out, in_audio.rate, in_audio.layout.name)


def _copy_audio(source: av.container.InputContainer, audio: av.AudioStream, out: av.container.OutputContainer) -> None:
    in_audio = source.streams.audio[0]
    if _codec_name(in_audio) in _MP4_AUDIO:
        for packet in source.demux(in_audio):
            if packet.dts is not None:
                packet.stream = audio
                out.mux(packet)
        return
    for frame in source.decode(in_audio):
        frame.pts = None
        out.mux(audio.encode(frame))
    out.mux(audio.encode(None))


def _copy_audio_window(source: av.container.InputContainer, audio: av.AudioStream, out: av.container.OutputContainer,
                       window: tuple[float, float]) -> None:
    """Decode the first audio stream, keep the samples in ``window`` (seconds), encode them to ``audio``."""
    in_audio = source.streams.audio[0]
    resampler = av.AudioResampler(format="fltp", layout=audio.layout.name, rate=audio.rate)
    kept, start, end = [], *window
    for frame in source.decode(in_audio):
        for plain in resampler.resample(frame):
            samples = plain.to_ndarray()  # (channels, n) float32
            first = float(plain.pts * plain.time_base) if plain.pts is not None else 0.0
            times = first + np.arange(samples.shape[1]) / audio.rate
            kept.append(samples[:, (times >= start) & (times < end)])
    if kept:
        encode_audio(out, audio, np.concatenate(kept, axis=1))


def add_aac_stream(out: av.container.OutputContainer, rate: int, layout: str = "mono") -> av.AudioStream:
    """Add an AAC audio stream to ``out``."""
    stream = out.add_stream("aac", rate=rate)
    stream.layout = layout
    return stream


def encode_audio(out: av.container.OutputContainer, stream: av.AudioStream, samples: np.ndarray) -> None:
    """Encode float samples in [-1, 1], shape (n,) mono or (channels, n), into the AAC ``stream`` of ``out``."""
    block = 1024
    planes = samples[None] if samples.ndim == 1 else samples
    for start in range(0, planes.shape[1], block):
        chunk = np.ascontiguousarray(planes[:, start:start + block], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout.name)
        frame.sample_rate = stream.rate
        frame.pts = start
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
