"""``lipsync``: the audio-visual lip-sync detector (Korshunov & Marcel 2018's third detector).

Per 40 ms step of a video (:mod:`swaplab.detect.syncfeatures`): 4 mouth measures from the 478-point Face
Mesh (inner and outer lip gaps, mouth width, inner-lip area, over the inter-ocular distance; z-scored per
video, plus their first differences) and 4 x 14 audio features (13 MFCCs + log energy, mean-normalised
per video). Standardised and reduced by PCA (fitted on training steps), 1 s windows go through an LSTM
whose time-averaged output gives P(out of sync). A video's score is the mean over its windows (every
0.2 s); **higher = more likely fake**.

What it is trained on: real videos (label 0, "in sync") and, as "out of sync" (label 1), the same real
videos with the audio of each window taken from 0.5-2 s earlier or later in the same video, or from
another training video (SyncNet's recipe). Fake videos are used only when given with label 1 to
:meth:`LipSyncDetector.fit` (``evaluate_lipsync(..., train_on_fakes=True)``); by default the detector
never sees a swap. Face swaps keep the filmed person's mouth motion and audio, so they stay in sync: the
detector is expected to fail on them (the study: 41.8 % EER on DeepfakeTIMIT lq).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from swaplab.core.device import intra_op_threads
from swaplab.core.errors import SwaplabError, TooFewSamplesError
from swaplab.core.fileio import save_torch_file, write_json_atomic
from swaplab.core.registry import Registry
from swaplab.detect.syncfeatures import GRID_FPS, N_MOUTH, SyncFeatures

FORMAT = 1  # 1 - detector.json (kind video) + weights.pt


class VideoDetector(Protocol):
    """Fit on per-video feature sequences, score videos (higher = more likely fake), save and load."""

    name: str

    def fit(self, videos: Sequence[SyncFeatures], labels: np.ndarray) -> VideoDetector:
        """labels (N,) with 1 = fake (or out of sync), 0 = real."""
        ...

    def score(self, videos: Sequence[SyncFeatures]) -> np.ndarray:
        """(N,) float scores, higher = more likely fake; NaN for a video with no usable window."""
        ...

    def settings(self) -> dict:
        ...

    def save_state(self, folder: Path) -> None: ...

    def load_state(self, folder: Path) -> None: ...


VIDEO_DETECTORS: Registry[VideoDetector] = Registry("video detector")


def save_video_detector(detector: VideoDetector, folder: Path) -> Path:
    """Write the state, then ``detector.json`` (``kind: video``) last."""
    folder.mkdir(parents=True, exist_ok=True)
    detector.save_state(folder)
    write_json_atomic(folder / "detector.json", {"detector": detector.name, "kind": "video", "format": FORMAT,
                                                 "settings": detector.settings()})
    return folder


def load_video_detector(folder: Path) -> VideoDetector:
    """Rebuild a saved video detector; another kind of folder is a clear error."""
    import json

    try:
        meta = json.loads((Path(folder) / "detector.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        raise SwaplabError(f"{folder}: not a detector folder (no readable detector.json)") from None
    known = meta.get("detector") in VIDEO_DETECTORS.names()
    if meta.get("kind") != "video" or meta.get("format") != FORMAT or not known:
        raise SwaplabError(f"{folder}: not a saved video detector ({meta.get('detector')!r}, kind {meta.get('kind')})")
    detector = VIDEO_DETECTORS.get(meta["detector"], **meta["settings"])
    detector.load_state(Path(folder))
    return detector


# --- step features -----------------------------------------------------------------------------------

def _zscore(values: np.ndarray) -> np.ndarray:
    mean = np.nanmean(values, axis=0) if np.isfinite(values).any() else np.zeros(values.shape[1])
    std = np.nanstd(values, axis=0) if np.isfinite(values).any() else np.ones(values.shape[1])
    return (values - mean) / np.where(std > 1e-6, std, 1.0)


def step_inputs(video: SyncFeatures) -> tuple[np.ndarray, np.ndarray]:
    """Raw per-step inputs (T, 8 + A) and a valid mask (T,) of one video.

    Mouth z-scored per video and its first difference; audio minus its per-video mean. Invalid steps
    (no face or no audio) are zero-filled and marked False.
    """
    mouth = _zscore(video.mouth)
    delta = np.vstack([np.zeros((1, N_MOUTH)), np.diff(mouth, axis=0)]) if len(mouth) else mouth
    sound = video.audio - (np.nanmean(video.audio, axis=0) if np.isfinite(video.audio).any() else 0.0)
    joined = np.hstack([mouth, delta, sound]).astype(np.float32)
    valid = np.isfinite(joined).all(axis=1)
    return np.nan_to_num(joined, nan=0.0), valid


def mismatch(mouth_of: SyncFeatures, audio_of: SyncFeatures, start: int, audio_start: int, length: int) -> SyncFeatures:
    """Mouth steps ``start:start+length`` of one video with audio steps ``audio_start:...`` of another
    (or of the same video, shifted): an out-of-sync sequence."""
    part = mouth_of.part(start, start + length)
    sound = audio_of.audio[audio_start:audio_start + length]
    if len(sound) != len(part.times):
        raise SwaplabError("audio window runs past the end of its video")
    return SyncFeatures(f"{mouth_of.video}|audio:{audio_of.video}@{audio_start}", part.times, part.mouth, sound)


def shift_audio(video: SyncFeatures, seconds: float) -> SyncFeatures:
    """The video with its audio delayed by ``seconds`` (advanced when negative); the uncovered steps are
    dropped, so the result is shorter by the shift."""
    steps = int(round(abs(seconds) * GRID_FPS))
    if steps >= len(video.times):
        raise SwaplabError(f"{video.video}: a {seconds} s shift is longer than the video")
    length = len(video.times) - steps
    # Delay: mouth at step t meets the sound of step t - steps.
    return mismatch(video, video, steps, 0, length) if seconds > 0 else mismatch(video, video, 0, steps, length)


# --- the model ---------------------------------------------------------------------------------------

class SyncLSTM(nn.Module):
    """LSTM over PCA-reduced steps (B, T, D) -> logit of out-of-sync (B,), from the time-averaged output."""

    def __init__(self, inputs: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(steps)
        return self.head(out.mean(dim=1)).squeeze(1)


@dataclass(frozen=True)
class _Windows:
    """Window start indices into one video's steps."""

    inputs: np.ndarray
    valid: np.ndarray
    starts: np.ndarray


class LipSyncDetector:
    """MFCC + mouth features -> PCA -> LSTM over 1 s windows; see the module docstring.

    Parameters
    ----------
    window : float
        Window length in seconds (25 steps at 1 s).
    stride : float
        Step between windows, seconds, when training and scoring.
    components : int
        PCA components kept per step.
    hidden : int
        LSTM width.
    epochs : int
        Passes over the training windows (negatives are drawn afresh each epoch).
    min_shift, max_shift : float
        Range of the audio shifts (seconds, either sign) that make the synthetic out-of-sync windows.
    synthetic_negatives : bool
        Make out-of-sync windows from the real training videos (SyncNet's recipe).
    min_valid : float
        Least share of a window's steps with a face and audio for the window to be used.
    swap_share : float
        Share of the synthetic out-of-sync windows that take another training video's audio instead of a
        time shift (0 by default: on 12 people, cross-speaker negatives made the model learn voices).
    products : bool
        Also feed the LSTM, per step, the product of the z-scored inner-lip gap and the z-scored audio log
        energy at lags -1, 0, +1 steps (the terms of :func:`sync_correlation`).
    seed : int
    """

    name = "lipsync"
    kind = "video"

    def __init__(self, *, window: float = 1.0, stride: float = 0.2, components: int = 24, hidden: int = 32,
                 epochs: int = 15, min_shift: float = 0.5, max_shift: float = 2.0, synthetic_negatives: bool = True,
                 min_valid: float = 0.8, swap_share: float = 0.0, products: bool = False, seed: int = 0) -> None:
        self.window, self.stride, self.components, self.hidden = window, stride, components, hidden
        self.epochs, self.min_shift, self.max_shift = epochs, min_shift, max_shift
        self.synthetic_negatives, self.min_valid, self.seed = synthetic_negatives, min_valid, seed
        self.swap_share, self.products = swap_share, products
        self.mean_ = self.scale_ = self.basis_ = None
        self.model_: SyncLSTM | None = None

    def settings(self) -> dict:
        return {"window": self.window, "stride": self.stride, "components": self.components, "hidden": self.hidden,
                "epochs": self.epochs, "min_shift": self.min_shift, "max_shift": self.max_shift,
                "synthetic_negatives": self.synthetic_negatives, "min_valid": self.min_valid,
                "swap_share": self.swap_share, "products": self.products,
                "seed": self.seed}

    @property
    def _length(self) -> int:
        return max(2, int(round(self.window * GRID_FPS)))

    @property
    def _step(self) -> int:
        return max(1, int(round(self.stride * GRID_FPS)))

    def _windows(self, video: SyncFeatures) -> _Windows:
        inputs, valid = step_inputs(video)
        length = min(self._length, len(inputs))
        starts = np.arange(0, max(len(inputs) - length, 0) + 1, self._step) if length else np.zeros(0, int)
        keep = [s for s in starts if valid[s:s + length].mean() >= self.min_valid] if length >= 2 else []
        return _Windows(inputs, valid, np.asarray(keep, int))

    def _project(self, found: _Windows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The PCA projection of a video's steps split into its mouth and audio terms, each (T, k), and its
        z-scored inner-lip gap and audio energy, each (T,): see :meth:`_assemble`."""
        standard = (found.inputs - self.mean_) / self.scale_
        cut = 2 * N_MOUTH
        energy = _zscore(found.inputs[:, cut + 13::14].mean(axis=1, keepdims=True))[:, 0]
        return (standard[:, :cut] @ self.basis_[:cut]).astype(np.float32), \
            (standard[:, cut:] @ self.basis_[cut:]).astype(np.float32), found.inputs[:, 0], energy

    def _assemble(self, mouth_of: tuple, start: int, audio_of: tuple, audio_start: int) -> np.ndarray:
        """One window's reduced input (L, k [+ 3]): ``mouth[s:s+L] + audio[a:a+L]`` (a = s when in sync), with
        the lip-gap x energy products at lags -1, 0, 1 when ``products``."""
        reduced = mouth_of[0][start:start + self._length] + audio_of[1][audio_start:audio_start + self._length]
        if not self.products:
            return reduced
        length = len(reduced)
        at = np.clip(audio_start + np.arange(length)[:, None] + np.array([-1, 0, 1]), 0, len(audio_of[3]) - 1)
        product = mouth_of[2][start:start + length, None] * audio_of[3][at]
        return np.hstack([reduced, product]).astype(np.float32)

    @property
    def _inputs(self) -> int:
        return self.basis_.shape[1] + (3 if self.products else 0)

    def _fit_pca(self, windows: Sequence[_Windows]) -> None:
        steps = np.concatenate([w.inputs[w.valid] for w in windows])
        self.mean_ = steps.mean(axis=0)
        self.scale_ = np.where(steps.std(axis=0) > 1e-6, steps.std(axis=0), 1.0)
        _, _, vt = np.linalg.svd((steps - self.mean_) / self.scale_, full_matrices=False)
        self.basis_ = vt[:min(self.components, vt.shape[0])].T.astype(np.float32)

    def _audio_for(self, index: int, start: int, sizes: Sequence[int],
                   rng: np.random.Generator) -> tuple[int, int] | None:
        """(video, audio start) of an out-of-sync partner for the window at ``start`` of video ``index``:
        the same video shifted by ``min_shift``-``max_shift`` s, or (``swap_share``) another video."""
        length = self._length
        lo, hi = int(round(self.min_shift * GRID_FPS)), int(round(self.max_shift * GRID_FPS))
        shifts = [d for d in range(lo, hi + 1) for d in (d, -d) if 0 <= start + d <= sizes[index] - length]
        if shifts and (len(sizes) == 1 or rng.random() >= self.swap_share):
            return index, start + int(rng.choice(shifts))
        others = [i for i, size in enumerate(sizes) if i != index and size >= length]
        if not others:
            return None
        other = int(rng.choice(others))
        return other, int(rng.integers(0, sizes[other] - length + 1))

    def _training_set(self, windows: Sequence[_Windows], parts: Sequence[tuple],
                      labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Reduced windows (N, L, k) and labels (N,): every window of every video with its own audio and
        label, plus one synthetic out-of-sync window per real window (when ``synthetic_negatives``)."""
        length, sizes = self._length, [len(w.inputs) for w in windows]
        pairs = [(i, s, i, s, int(labels[i])) for i, w in enumerate(windows) for s in w.starts if sizes[i] >= length]
        if self.synthetic_negatives:
            partners = [(i, s, self._audio_for(i, s, sizes, rng)) for i, s, _, _, label in pairs if label == 0]
            pairs += [(i, s, *partner, 1) for i, s, partner in partners if partner is not None]
        if len({pair[-1] for pair in pairs}) < 2:
            raise TooFewSamplesError("lip-sync training needs in-sync and out-of-sync windows of at least "
                               f"{self.window} s; got {len(pairs)} windows")
        x = np.stack([self._assemble(parts[i], s, parts[j], a) for i, s, j, a, _ in pairs])
        return x, np.array([pair[-1] for pair in pairs], np.float32)

    def fit(self, videos: Sequence[SyncFeatures], labels: np.ndarray) -> LipSyncDetector:
        """Train on real (0) videos with synthetic out-of-sync windows, plus any fake (1) videos given."""
        labels = np.asarray(labels).astype(int)
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        windows = [self._windows(v) for v in videos]
        if not any(len(w.starts) for w in windows):
            raise TooFewSamplesError(f"no training video has a {self.window} s window with a face and audio")
        self._fit_pca([w for w in windows if w.valid.any()])
        parts = [self._project(w) for w in windows]
        self.model_ = SyncLSTM(self._inputs, self.hidden)
        optimiser = torch.optim.Adam(self.model_.parameters(), lr=3e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        for _ in range(self.epochs):
            x, y = self._training_set(windows, parts, labels, rng)
            order = rng.permutation(len(x))
            for batch in np.array_split(order, max(1, len(order) // 64)):
                optimiser.zero_grad()
                loss = loss_fn(self.model_(torch.from_numpy(x[batch])), torch.from_numpy(y[batch]))
                loss.backward()
                optimiser.step()
        self.model_.eval()
        return self

    def _check_fitted(self) -> None:
        if self.model_ is None:
            raise SwaplabError("the lip-sync detector is not trained: call fit() or load a saved one")

    @torch.inference_mode()
    def window_scores(self, video: SyncFeatures) -> np.ndarray:
        """P(out of sync) of each usable window of one video, shape (W,) (empty when none)."""
        self._check_fitted()
        found = self._windows(video)
        if not len(found.starts):
            return np.zeros(0, np.float32)
        parts = self._project(found)
        x = np.stack([self._assemble(parts, start, parts, start) for start in found.starts])
        return torch.sigmoid(self.model_(torch.from_numpy(x))).numpy()

    def score(self, videos: Sequence[SyncFeatures]) -> np.ndarray:
        """Mean window P(out of sync) per video, (N,); NaN for a video with no usable window.

        Runs torch on one thread: a video's windows are one small batch, and extra intra-op threads only
        spin (measured on the shared 2-core machine: 2,500 video-s per CPU-s on 1 thread, 110-370 on 2).
        """
        with intra_op_threads(1):
            return np.array([float(s.mean()) if len(s) else np.nan for s in map(self.window_scores, videos)])

    def save_state(self, folder: Path) -> None:
        self._check_fitted()
        state = {f"lstm.{k}": v for k, v in self.model_.state_dict().items()}
        state |= {"mean": torch.from_numpy(self.mean_), "scale": torch.from_numpy(self.scale_),
                  "basis": torch.from_numpy(self.basis_)}
        save_torch_file(state, folder / "weights.pt")

    def load_state(self, folder: Path) -> None:
        state = torch.load(folder / "weights.pt", weights_only=True, map_location="cpu")
        self.mean_, self.scale_ = state.pop("mean").numpy(), state.pop("scale").numpy()
        self.basis_ = state.pop("basis").numpy()
        self.model_ = SyncLSTM(self._inputs, self.hidden)
        self.model_.load_state_dict({k.removeprefix("lstm."): v for k, v in state.items()})
        self.model_.eval()


def sync_correlation(video: SyncFeatures, max_lag: int = 1) -> float:
    """Peak normalised cross-correlation between mouth opening and audio energy over small lags.

    The classic SyncNet-free lip-sync measure: Pearson correlation of the inner-lip gap at step t with the
    sound's log energy (mean of the 4 per step) at step t + d, for d in ``-max_lag..max_lag`` grid steps
    (1 step = 40 ms), the largest value kept; steps without a face or audio are left out of each pair.

    Returns
    -------
    float
        In [-1, 1]; NaN when fewer than 10 steps pair up at every lag.
    """
    opening = video.mouth[:, 0].astype(np.float64)
    energy = video.audio[:, 13::14].mean(axis=1)  # NaN where the step has no audio
    best = np.nan
    for lag in range(-max_lag, max_lag + 1):
        a = opening[max(0, -lag):len(opening) - max(0, lag)]
        b = energy[max(0, lag):len(energy) - max(0, -lag)]
        keep = np.isfinite(a) & np.isfinite(b)
        if keep.sum() >= 10 and a[keep].std() > 1e-9 and b[keep].std() > 1e-9:
            value = float(np.corrcoef(a[keep], b[keep])[0, 1])
            best = value if not np.isfinite(best) else max(best, value)
    return best


class CorrelationDetector:
    """Training-free baseline: score = minus :func:`sync_correlation` at lags within ``max_lag`` steps
    (0 +- 40 ms by default), so a video whose mouth does not open with its sound scores high (fake)."""

    name = "sync-correlation"
    kind = "video"

    def __init__(self, *, max_lag: int = 1, seed: int = 0) -> None:
        self.max_lag, self.seed = max_lag, seed

    def settings(self) -> dict:
        return {"max_lag": self.max_lag, "seed": self.seed}

    def fit(self, videos: Sequence[SyncFeatures], labels: np.ndarray) -> CorrelationDetector:
        """Nothing to learn."""
        return self

    def score(self, videos: Sequence[SyncFeatures]) -> np.ndarray:
        return np.array([-sync_correlation(video, self.max_lag) for video in videos])

    def save_state(self, folder: Path) -> None:
        """No state beyond the settings in ``detector.json``."""

    def load_state(self, folder: Path) -> None:
        """No state beyond the settings in ``detector.json``."""


@VIDEO_DETECTORS.register("sync-correlation")
def correlation(**settings) -> CorrelationDetector:
    """The mouth-opening / audio-energy correlation baseline (keyword settings as :class:`CorrelationDetector`)."""
    return CorrelationDetector(**settings)


@VIDEO_DETECTORS.register("lipsync")
def lipsync(**settings) -> LipSyncDetector:
    """The audio-visual lip-sync detector (keyword settings as :class:`LipSyncDetector`)."""
    return LipSyncDetector(**settings)
