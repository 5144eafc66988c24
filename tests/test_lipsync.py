"""The lip-sync detector: MFCCs and their timestamp alignment on synthetic signals, then real talking heads."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.fft import dct

from swaplab.core.errors import SwaplabError
from swaplab.detect import audio
from swaplab.detect.lipsync import (VIDEO_DETECTORS, LipSyncDetector, load_video_detector, mismatch,
                                    save_video_detector, shift_audio, sync_correlation)
from swaplab.detect.protocol import COLUMNS
from swaplab.detect.lipsync_protocol import (FeatureLoader, LipsyncVideo, evaluate_lipsync, sanity_clips,
                                             videos_from_manifests)
from swaplab.detect.syncfeatures import GRID_FPS, MouthTracker, SyncFeatures, grid, video_features

RATE = 16_000


def burst(start: float, stop: float, seconds: float = 3.0) -> np.ndarray:
    """Quiet noise with a loud 1 kHz tone between ``start`` and ``stop`` seconds."""
    t = np.arange(int(seconds * RATE)) / RATE
    signal = 1e-3 * np.random.default_rng(0).standard_normal(t.size)
    return signal + np.where((t >= start) & (t < stop), 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0)


def test_mel_filterbank_triangles_peak_at_their_centres() -> None:
    bank = audio.mel_filterbank(20, 512, RATE)
    assert bank.shape == (20, 257) and bank.min() >= 0 and np.all(bank.max(axis=1) > 0.8)
    assert np.all(np.diff(np.argmax(bank, axis=1)) > 0)  # centres rise with the filter index


def test_mfcc_matches_a_frame_computed_by_hand() -> None:
    signal = burst(0.0, 3.0, seconds=0.5)
    config = audio.MfccConfig()
    found = audio.mfcc(signal, RATE, config)
    win, hop = 400, 160
    assert found.shape == (1 + (signal.size - win) // hop, 14)
    emphasised = np.append(signal[0], signal[1:] - 0.97 * signal[:-1])
    frame = emphasised[5 * hop:5 * hop + win] * np.hamming(win)
    power = np.abs(np.fft.rfft(frame, 512)) ** 2 / 512
    log_mel = np.log(audio.mel_filterbank(40, 512, RATE, 20.0) @ power + 1e-10)
    np.testing.assert_allclose(found[5, :13], dct(log_mel, norm="ortho")[:13], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(found[5, 13], np.log(power.sum() + 1e-10), rtol=1e-5)


def test_mfcc_frames_are_centred_at_their_timestamps() -> None:
    times = audio.mfcc_times(3, RATE, start=0.5)
    np.testing.assert_allclose(times, [0.5125, 0.5225, 0.5325])


@pytest.mark.parametrize(("audio_start", "first"), [(0.0, 25), (0.52, 38)])
def test_audio_lands_on_the_video_frames_of_its_timestamps(audio_start: float, first: int) -> None:
    """A tone 1.0-1.2 s into the sound track is loud on the 25 fps frames shown at audio_start + 1.0-1.2 s."""
    track = audio.AudioTrack(burst(1.0, 1.2).astype(np.float32), RATE, audio_start)
    frame_times = np.arange(100) / 25
    energy = audio.audio_per_frame(track, frame_times, 25.0)[:, 13::14].mean(axis=1)
    loud = np.flatnonzero(energy > np.nanmedian(energy) + 8)
    assert loud.tolist() == list(range(first, first + 5))
    assert np.isnan(energy[frame_times < audio_start]).all()  # before the audio starts: no features
    assert np.isnan(energy[frame_times > audio_start + 3.0]).all()


def test_features_at_interpolates_and_marks_gaps() -> None:
    values = np.array([[0.0], [10.0], [20.0]])
    out = audio.features_at(values, np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.5, 2.25, 3.5]))
    np.testing.assert_allclose(out[:, 0], [np.nan, 5.0, 12.5, np.nan])


def synthetic_video(seconds: float = 6.0, seed: int = 0, lag: int = 0) -> SyncFeatures:
    """Mouth opening that follows the audio energy ``lag`` steps later (0 = in sync)."""
    rng = np.random.default_rng(seed)
    steps = int(seconds * GRID_FPS)
    energy = np.convolve(rng.standard_normal(steps + 40), np.ones(4) / 4, "same")
    mouth = np.repeat(energy[20 - lag:20 - lag + steps, None], 4, axis=1) + 0.05 * rng.standard_normal((steps, 4))
    sound = np.repeat(energy[20:20 + steps, None], 56, axis=1) + 0.05 * rng.standard_normal((steps, 56))
    return SyncFeatures(f"synthetic{seed}", grid(0.0, (steps - 1) / GRID_FPS), mouth.astype(np.float32),
                        sound.astype(np.float32))


def test_shift_and_mismatch_pair_the_right_steps() -> None:
    video = synthetic_video()
    delayed = shift_audio(video, 1.0)
    assert len(delayed.times) == len(video.times) - 25
    np.testing.assert_array_equal(delayed.mouth, video.mouth[25:])
    np.testing.assert_array_equal(delayed.audio, video.audio[:-25])
    np.testing.assert_array_equal(shift_audio(video, -1.0).audio, video.audio[25:])
    with pytest.raises(SwaplabError, match="longer than the video"):
        shift_audio(video, 10.0)
    with pytest.raises(SwaplabError, match="past the end"):
        mismatch(video, video, 0, 140, 25)


@pytest.mark.parametrize("products", [False, True])
def test_lstm_learns_sync_on_synthetic_features_and_round_trips(tmp_path: Path, products: bool) -> None:
    videos = [synthetic_video(seed=s) for s in range(6)]
    detector = LipSyncDetector(epochs=6, seed=0, products=products).fit(videos, np.zeros(len(videos)))
    assert detector.model_.lstm.input_size == detector.basis_.shape[1] + (3 if products else 0)
    fresh = [synthetic_video(seed=s) for s in range(10, 14)]
    aligned = detector.score(fresh)
    shifted = detector.score([shift_audio(v, 1.0) for v in fresh])
    assert aligned.max() < shifted.min()
    loaded = load_video_detector(save_video_detector(detector, tmp_path / "det"))
    np.testing.assert_allclose(loaded.score(fresh), aligned, rtol=1e-5)
    assert "lipsync" in VIDEO_DETECTORS.names()


def test_sync_correlation_peaks_at_the_true_lag_and_scores_shifts_as_fake() -> None:
    """Mouth opening that follows the sound 4 steps (160 ms) late: a clear peak only when lags reach 4."""
    late = synthetic_video(seconds=8.0, lag=4)
    assert sync_correlation(late, max_lag=5) > 0.9
    assert sync_correlation(late, max_lag=1) < 0.5
    fresh = [synthetic_video(seed=s) for s in range(10, 14)]
    detector = VIDEO_DETECTORS.get("sync-correlation").fit(fresh, np.zeros(4))
    aligned, shifted = detector.score(fresh), detector.score([shift_audio(v, 1.0) for v in fresh])
    assert aligned.max() < -0.9 and aligned.max() < shifted.min()
    silent = SyncFeatures("x", late.times, late.mouth, np.full_like(late.audio, np.nan))
    assert np.isnan(sync_correlation(silent))


def test_an_untrained_detector_and_a_foreign_folder_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SwaplabError, match="not trained"):
        LipSyncDetector().score([synthetic_video()])
    with pytest.raises(SwaplabError, match="not a detector folder"):
        load_video_detector(tmp_path)


# --- real media ---------------------------------------------------------------------------------------

CLIPS = ("vr_1", "vr_2", "vr_5")  # 5-6 s talking heads with speech


@pytest.fixture(scope="module")
def talking(media: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three real talking clips, copies with their audio delayed by 1 s (remuxed), and a feature cache."""
    folder = tmp_path_factory.mktemp("lipsync")
    real = {name: media / "talking" / f"{name}.mp4" for name in CLIPS}
    delayed = {name: audio.delay_audio(path, folder / f"{name}_delayed.mp4", 1.0) for name, path in real.items()}
    return {"real": real, "delayed": delayed, "cache": folder / "cache", "tracker": MouthTracker()}


def test_videos_without_sound_are_refused_with_a_reason(media: Path) -> None:
    with pytest.raises(audio.NoAudioError, match="no audio stream"):
        audio.read_audio(media / "multi" / "tears_of_steel_multishot.mp4")
    with pytest.raises(audio.NoAudioError, match="silent"):
        audio.read_audio(media / "talking" / "lp_d18.mp4")


def test_delayed_audio_file_starts_a_second_later(talking: dict) -> None:
    original = audio.read_audio(talking["real"]["vr_1"])
    delayed = audio.read_audio(talking["delayed"]["vr_1"])
    assert delayed.start - original.start == pytest.approx(1.0, abs=0.03)


def test_shifted_audio_scores_higher_than_aligned_after_a_tiny_training(talking: dict) -> None:
    feats = {name: video_features(path, tracker=talking["tracker"], cache=talking["cache"])
             for name, path in talking["real"].items()}
    assert all(np.isfinite(f.mouth).all(axis=1).mean() > 0.9 for f in feats.values())
    detector = LipSyncDetector(epochs=15, seed=0).fit(list(feats.values()), np.zeros(len(feats)))
    aligned = detector.score(list(feats.values()))
    remuxed = [video_features(path, tracker=talking["tracker"], cache=talking["cache"])
               for path in talking["delayed"].values()]
    shifted = detector.score(remuxed)
    assert shifted.mean() > aligned.mean() + 0.1, (aligned, shifted)
    assert (shifted > aligned).sum() >= 2, (aligned, shifted)


def test_tracking_mesh_follows_the_mouth_like_the_aligned_crops(talking: dict) -> None:
    """Face Mesh in tracking mode on whole frames (no MTCNN) measures the same mouth as static crops."""
    tracking, static = MouthTracker(), MouthTracker(tracking=False)
    times, fast = tracking.track(talking["real"]["vr_5"])
    times_static, slow = static.track(talking["real"]["vr_5"])
    np.testing.assert_array_equal(times, times_static)
    assert np.isfinite(fast).all() and tracking._detector is None and static._detector is not None
    assert np.corrcoef(fast[:, 0], slow[:, 0])[0, 1] > 0.8
    np.testing.assert_array_equal(tracking.track(talking["real"]["vr_5"])[1], fast)  # reset between videos


def test_sanity_clips_keep_talking_heads_whose_sound_follows_the_lips(talking: dict, media: Path) -> None:
    """vr_1's speech opens its mouth (peak correlation ~0.6); vr_4's sound does not follow its lips (~0.05)."""
    videos = [LipsyncVideo(talking["real"]["vr_1"], "vr_1"), LipsyncVideo(media / "talking" / "vr_4.mp4", "vr_4"),
              LipsyncVideo(media / "talking" / "lp_d18.mp4", "lp_d18")]
    table, usable = sanity_clips(videos, cache=talking["cache"], min_peak=0.2)
    assert table.passes.tolist() == [True, False, False] and [person for person, _ in usable] == ["vr_1"]
    assert table.sync_peak[0] > 0.4 and table.status[1].startswith("sync peak") and "silent" in table.status[2]


def test_evaluate_lipsync_counts_silent_videos_and_writes_the_tables(talking: dict, media: Path,
                                                                     tmp_path: Path) -> None:
    real = [LipsyncVideo(path, name) for name, path in talking["real"].items()]
    real += [LipsyncVideo(media / "multi" / "tears_of_steel_multishot.mp4", "tears"),
             LipsyncVideo(media / "talking" / "lp_d18.mp4", "lp_d18")]
    fakes = {"delayed": [LipsyncVideo(path, name) for name, path in talking["delayed"].items()]}
    target = evaluate_lipsync(real, fakes, tmp_path / "out", cache=talking["cache"], settings={"epochs": 3})
    table = pd.read_csv(target)
    assert sorted(set(table.tier)) == ["delayed", "shifted-audio"]
    assert sorted(set(table.level)) == ["clip", "video-mean"]
    assert list(table.columns) == [*COLUMNS, "n_skipped"]
    assert (table.n_skipped == 2).all() and table.eval_hter.between(0, 1).all()
    assert (table.condition == "sync-only").all()
    scores = pd.read_csv(tmp_path / "out" / "scores.csv")
    skipped = scores[scores.score.isna()]
    assert sorted(skipped.identity) == ["lp_d18", "tears"]
    assert skipped.status.str.contains("no audio stream").sum() == 1
    assert skipped.status.str.contains("silent").sum() == 1
    assert (tmp_path / "out" / "detector" / "detector.json").exists()


def test_features_from_a_face_manifest_follow_its_videos(sample_faces: dict[str, Path], tmp_path: Path) -> None:
    """Manifest crops give the mouth track (no detection run); one video per source file, filmed identity."""
    videos = videos_from_manifests([sample_faces["astronaut"]])
    assert len(videos) == 2 and {v.identity for v in videos} == {"astronaut"}
    assert all(v.manifest == sample_faces["astronaut"] for v in videos)
    loader = FeatureLoader(tmp_path / "cache", "cpu")
    found, status = loader.load(videos[0])
    assert status == "scored", status
    assert found.duration == pytest.approx(2.0, abs=0.1)
    assert np.isfinite(found.mouth).all(axis=1).mean() > 0.8 and np.isfinite(found.audio).all(axis=1).mean() > 0.9
    assert loader.tracker._detector is None  # the crops were used, MTCNN never loaded
    again, _ = FeatureLoader(tmp_path / "cache", "cpu").load(videos[0])  # from the cache
    np.testing.assert_array_equal(again.mouth, found.mouth)
