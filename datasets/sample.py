"""The embedded sample: short talking-head-like clips made from two public-domain portraits.

Sources (both ship inside installed packages; nothing is downloaded)
---------------------------------------------------------------------
astronaut     ``skimage.data.astronaut()``: NASA portrait of astronaut Eileen Collins
              (public domain, a work of the US government).
grace_hopper  matplotlib's sample ``grace_hopper.jpg``: official US Navy portrait of
              Rear Admiral Grace Hopper (public domain, a work of the US government).

Each clip warps the still portrait with a smooth, seeded head motion (rotation,
scale, translation and a perspective term that imitates small yaw), drifts its
lighting (gain, colour cast, side light), adds mild sensor noise, and carries a
generated audio track (a seeded tone melody), written as H.264 + AAC mp4.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import matplotlib.cbook
import numpy as np
import skimage.data
from PIL import Image

from swaplab.core.config import save_config
from swaplab.core.fileio import atomic_path, require_writable_dir, sha256_of, write_json_atomic
from swaplab.core.media import add_aac_stream, add_h264_stream, encode_audio
from swaplab.core.progress import track


@dataclass(frozen=True)
class Portrait:
    """A public-domain still: how to load it and where its face is (source pixels)."""

    name: str
    load: Callable[[], np.ndarray]
    face_center: tuple[float, float]
    face_width: float
    provenance: str


def _grace_hopper() -> np.ndarray:
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


# Face centres and widths were measured once with MTCNN on the stills.
PORTRAITS = (
    Portrait("astronaut", skimage.data.astronaut, (224.0, 117.0), 87.0,
             "skimage.data.astronaut(): NASA portrait of Eileen Collins, public domain"),
    Portrait("grace_hopper", _grace_hopper, (265.0, 230.0), 181.0,
             "matplotlib sample grace_hopper.jpg: US Navy portrait of Grace Hopper, public domain"),
)


@dataclass(frozen=True)
class SampleConfig:
    """Settings of ``swaplab datasets sample``."""

    out: Path
    seed: int = 0
    clips: int = 2
    seconds: float = 6.0
    fps: int = 25
    width: int = 640
    height: int = 360
    audio_rate: int = 48000


@dataclass(frozen=True)
class Motion:
    """Seeded smooth head motion and lighting drift; each entry is (amplitude, freq Hz, phase)."""

    rotate_deg: tuple[float, float, float]
    scale: tuple[float, float, float]
    shift_x: tuple[float, float, float]
    shift_y: tuple[float, float, float]
    yaw: tuple[float, float, float]
    gain: tuple[float, float, float]
    side_light: tuple[float, float, float]
    tint: tuple[float, float, float]

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Motion:
        def wave(amplitude: float) -> tuple[float, float, float]:
            return (amplitude * rng.uniform(0.6, 1.0), rng.uniform(0.12, 0.45), rng.uniform(0, 2 * np.pi))

        return cls(wave(8.0), wave(0.08), wave(0.06), wave(0.04), wave(0.25),
                   wave(0.15), wave(0.25), wave(0.06))

    @staticmethod
    def at(wave: tuple[float, float, float], t: float) -> float:
        amplitude, freq, phase = wave
        return amplitude * float(np.sin(2 * np.pi * freq * t + phase))


def frame_homography(portrait: Portrait, motion: Motion, t: float, size: tuple[int, int]) -> np.ndarray:
    """3x3 homography from portrait pixels to frame pixels at time ``t`` (s)."""
    width, height = size
    base_scale = 0.36 * height / portrait.face_width
    scale = base_scale * (1 + Motion.at(motion.scale, t))
    angle = np.deg2rad(Motion.at(motion.rotate_deg, t))
    yaw = Motion.at(motion.yaw, t) / portrait.face_width  # perspective term per source pixel
    cx, cy = portrait.face_center
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    perspective = np.array([[1, 0, 0], [0, 1, 0], [yaw / 4, 0, 1]], dtype=np.float64)
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    rotate = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], dtype=np.float64)
    centre_x = width / 2 + Motion.at(motion.shift_x, t) * width
    centre_y = height * 0.47 + Motion.at(motion.shift_y, t) * height
    to_frame = np.array([[1, 0, centre_x], [0, 1, centre_y], [0, 0, 1]], dtype=np.float64)
    return to_frame @ rotate @ perspective @ to_origin


def relight(frame: np.ndarray, motion: Motion, t: float, noise: np.ndarray) -> np.ndarray:
    """Apply gain, a colour cast, a moving side light and sensor noise; uint8 in and out."""
    height, width = frame.shape[:2]
    ramp = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :, None]
    light = 1 + Motion.at(motion.gain, t) + Motion.at(motion.side_light, t) * 0.5 * ramp
    cast = Motion.at(motion.tint, t)
    tint = np.array([1 + cast, 1.0, 1 - cast], dtype=np.float32)
    lit = frame.astype(np.float32) * light * tint + noise
    return np.clip(lit, 0, 255).astype(np.uint8)


def render_frames(portrait: Portrait, config: SampleConfig, seed: int) -> Iterator[np.ndarray]:
    """The clip's RGB frames, (H, W, 3) uint8, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    motion = Motion.draw(rng)
    still = portrait.load()
    size = (config.width, config.height)
    for index in range(round(config.seconds * config.fps)):
        t = index / config.fps
        warped = cv2.warpPerspective(still, frame_homography(portrait, motion, t, size), size,
                                     flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        noise = rng.normal(0.0, 2.0, warped.shape).astype(np.float32)
        yield relight(warped, motion, t, noise)


def render_audio(seconds: float, rate: int, seed: int) -> np.ndarray:
    """A seeded melody of soft tones with a little noise, mono float32 in [-1, 1], shape (n,)."""
    rng = np.random.default_rng(seed + 10_000)
    notes = 220.0 * 2 ** (rng.choice([0, 2, 4, 7, 9, 12], size=int(seconds * 4)) / 12)
    note_len = int(rate / 4)
    t = np.arange(note_len) / rate
    envelope = np.minimum(1.0, t * 40) * np.exp(-t * 6)
    melody = np.concatenate([np.sin(2 * np.pi * f * t) * envelope for f in notes])
    melody = np.pad(melody, (0, max(0, int(seconds * rate) - len(melody))))[: int(seconds * rate)]
    return (0.3 * melody + 0.01 * rng.standard_normal(len(melody))).astype(np.float32)


def write_clip(portrait: Portrait, config: SampleConfig, seed: int, target: Path) -> Path:
    """Render one clip with its audio to ``target`` (mp4, H.264 + AAC), atomically."""
    frames = render_frames(portrait, config, seed)
    total = round(config.seconds * config.fps)
    with atomic_path(target) as tmp:
        with av.open(str(tmp), "w", format="mp4") as out:
            out.metadata["comment"] = f"swaplab embedded sample: {portrait.provenance}; seed {seed}"
            video = add_h264_stream(out, config.width, config.height, config.fps)
            audio = add_aac_stream(out, config.audio_rate)
            for image in track(frames, target.name, total=total):
                out.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            out.mux(video.encode(None))
            encode_audio(out, audio, render_audio(config.seconds, config.audio_rate, seed))
    return target


def run(config: SampleConfig) -> Path:
    """Write the sample: ``OUT/<identity>/<identity>_<k>.mp4`` plus ``sample.json``.

    Returns the output folder. One folder per identity, so the sample is
    also a dataset in the ``folder`` layout.
    """
    out = require_writable_dir(config.out)
    clips = []
    for person_index, portrait in enumerate(PORTRAITS):
        for clip in range(config.clips):
            seed = config.seed * 1000 + person_index * 100 + clip
            target = out / portrait.name / f"{portrait.name}_{clip:02d}.mp4"
            write_clip(portrait, config, seed, target)
            clips.append({"identity": portrait.name, "path": str(target.relative_to(out)),
                          "seed": seed, "sha256": sha256_of(target), "provenance": portrait.provenance})
    write_json_atomic(out / "sample.json", {"clips": clips})
    save_config(config, out / "sample_config.json")
    return out
