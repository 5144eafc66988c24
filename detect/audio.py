"""Audio for the lip-sync detector: a video's sound track as mono samples, MFCCs, and their alignment to
video frames by timestamps.

MFCCs are computed here in numpy/scipy (no librosa, no torchaudio): pre-emphasis, 25 ms Hamming windows
every 10 ms, power spectrum, a triangular mel filterbank (HTK mel scale), log, DCT-II (orthonormal), as in
the HTK / python_speech_features recipe.

Times are stream times in seconds: audio sample ``i`` plays at ``start + i / rate``, and the MFCC frame
``j`` is centred at ``start + (j * hop + win / 2) / rate``. A video frame shown at ``t`` covers
``[t, t + 1 / fps)``; :func:`features_at` samples the MFCC sequence at points inside such intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from scipy.fft import dct, rfft

from swaplab.core.errors import SwaplabError

SAMPLE_RATE = 16_000
SILENCE_RMS = 1e-4  # a track whose RMS (full scale 1.0) stays under this is taken as silence


class NoAudioError(SwaplabError):
    """A video without a usable sound track (no audio stream, nothing decodable, or only silence)."""


@dataclass(frozen=True)
class AudioTrack:
    """Mono float32 ``samples`` (n,) in [-1, 1] at ``rate`` Hz; the first sample plays at ``start`` seconds."""

    samples: np.ndarray
    rate: int
    start: float

    @property
    def duration(self) -> float:
        return self.samples.size / self.rate


@dataclass(frozen=True)
class MfccConfig:
    """MFCC settings: window and hop in seconds, filterbank size, number of coefficients kept."""

    win: float = 0.025
    hop: float = 0.010
    n_mels: int = 40
    n_mfcc: int = 13
    preemphasis: float = 0.97
    fmin: float = 20.0
    fmax: float | None = None


def read_audio(path: Path, rate: int = SAMPLE_RATE) -> AudioTrack:
    """Decode the first audio stream of ``path`` as mono float32 at ``rate`` Hz.

    Raises
    ------
    NoAudioError
        No audio stream, no decodable sample, or a silent track (RMS < ``SILENCE_RMS``).
    SwaplabError
        The file cannot be opened.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise NoAudioError(f"{path}: no audio stream; the lip-sync detector needs the sound track")
            chunks, start = _decode(container, rate)
    except av.FFmpegError as err:
        raise SwaplabError(f"{path}: audio cannot be decoded ({err.strerror})") from None
    if not chunks:
        raise NoAudioError(f"{path}: the audio stream holds no decodable samples")
    samples = np.concatenate(chunks).astype(np.float32)
    if float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < SILENCE_RMS:
        raise NoAudioError(f"{path}: the audio is silent (RMS below {SILENCE_RMS:g}); "
                           "nothing to check lip sync against")
    return AudioTrack(samples, rate, start)


def _decode(container: av.container.InputContainer, rate: int) -> tuple[list[np.ndarray], float]:
    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks: list[np.ndarray] = []
    start = None
    for frame in container.decode(stream):
        if start is None and frame.time is not None:
            start = float(frame.time)
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray().reshape(-1))
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray().reshape(-1))
    return chunks, start or 0.0


def mel_filterbank(n_mels: int, n_fft: int, rate: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular filters on the HTK mel scale, shape (n_mels, n_fft // 2 + 1), peak 1."""
    def mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(fmin), mel(fmax or rate / 2), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins) / np.maximum(upper - centre, 1e-9)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def mfcc(samples: np.ndarray, rate: int, config: MfccConfig = MfccConfig()) -> np.ndarray:
    """MFCCs of a mono signal.

    Parameters
    ----------
    samples : ndarray (n,) float
    rate : int
        Sample rate in Hz.

    Returns
    -------
    ndarray (T, n_mfcc + 1) float32
        Per 10 ms frame: ``n_mfcc`` cepstral coefficients (c0 included) and the log frame energy last.
        ``T = 1 + (n - win) // hop`` (0 when the signal is shorter than a window).
    """
    win, hop = int(round(config.win * rate)), int(round(config.hop * rate))
    signal = np.asarray(samples, np.float64)
    if signal.size < win:
        return np.zeros((0, config.n_mfcc + 1), np.float32)
    signal = np.append(signal[0], signal[1:] - config.preemphasis * signal[:-1])
    count = 1 + (signal.size - win) // hop
    frames = np.lib.stride_tricks.sliding_window_view(signal, win)[::hop][:count] * np.hamming(win)
    n_fft = 1 << (win - 1).bit_length()
    power = np.abs(rfft(frames, n=n_fft, axis=1)) ** 2 / n_fft
    bank = mel_filterbank(config.n_mels, n_fft, rate, config.fmin, config.fmax)
    log_mel = np.log(power @ bank.T + 1e-10)
    cepstra = dct(log_mel, type=2, axis=1, norm="ortho")[:, :config.n_mfcc]
    energy = np.log(power.sum(axis=1) + 1e-10)
    return np.column_stack([cepstra, energy]).astype(np.float32)


def mfcc_times(count: int, rate: int, start: float, config: MfccConfig = MfccConfig()) -> np.ndarray:
    """Stream time in seconds of the centre of each of ``count`` MFCC frames, shape (count,)."""
    win, hop = int(round(config.win * rate)), int(round(config.hop * rate))
    return start + (np.arange(count) * hop + win / 2) / rate


def features_at(values: np.ndarray, times: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Linear interpolation of a feature sequence at query times; outside the covered span, NaN.

    Parameters
    ----------
    values : ndarray (T, D)
    times : ndarray (T,) increasing
    query : ndarray (...,)

    Returns
    -------
    ndarray (..., D) float32
    """
    query = np.asarray(query, np.float64)
    flat = query.reshape(-1)
    if len(times) == 0:
        return np.full((*query.shape, values.shape[1]), np.nan, np.float32)
    position = np.interp(flat, times, np.arange(len(times)))
    low = np.clip(np.floor(position).astype(int), 0, len(times) - 1)
    high = np.minimum(low + 1, len(times) - 1)
    weight = (position - low)[:, None]
    out = values[low] * (1 - weight) + values[high] * weight
    out[(flat < times[0]) | (flat > times[-1])] = np.nan
    return out.reshape(*query.shape, values.shape[1]).astype(np.float32)


def audio_per_frame(track: AudioTrack, frame_times: np.ndarray, fps: float, per_frame: int = 4,
                    config: MfccConfig = MfccConfig()) -> np.ndarray:
    """MFCCs sampled at ``per_frame`` evenly spaced points inside each video frame's interval.

    Frame ``i`` shown at ``frame_times[i]`` covers ``[t, t + 1/fps)``; its audio features are the MFCC
    sequence interpolated at ``t + (k + 0.5) / (per_frame * fps)``, k = 0 .. per_frame - 1.

    Returns
    -------
    ndarray (F, per_frame * (n_mfcc + 1)) float32; rows NaN where the audio does not cover the frame.
    """
    values = mfcc(track.samples, track.rate, config)
    times = mfcc_times(len(values), track.rate, track.start, config)
    offsets = (np.arange(per_frame) + 0.5) / (per_frame * fps)
    query = np.asarray(frame_times, np.float64)[:, None] + offsets[None, :]
    return features_at(values, times, query).reshape(len(frame_times), -1)


def delay_audio(source: Path, target: Path, seconds: float) -> Path:
    """Copy ``source`` to ``target`` with its audio packets' timestamps moved by ``seconds`` (later when
    positive; earlier packets that would start before 0 are dropped): an out-of-sync video for sanity
    checks, made without re-encoding. ``source`` is never modified."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        if not src.streams.video or not src.streams.audio:
            raise NoAudioError(f"{source}: needs a video and an audio stream to shift the audio")
        video, sound = src.streams.video[0], src.streams.audio[0]
        outputs = {video.index: dst.add_stream_from_template(video), sound.index: dst.add_stream_from_template(sound)}
        offset = int(round(seconds / sound.time_base))
        for packet in src.demux(video, sound):
            if packet.dts is None:
                continue
            if packet.stream.index == sound.index:
                packet.pts, packet.dts = packet.pts + offset, packet.dts + offset
                if packet.dts < 0:
                    continue
            packet.stream = outputs[packet.stream.index]
            dst.mux(packet)
    return target
