import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage, signal
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.datasets.manifest import read_manifest, write_manifest
from swaplab.detect import iqm
from swaplab.detect.base import DETECTORS, load_detector, save_detector
from swaplab.detect.protocol import COLUMNS, DetectConfig, assign_splits, level_scores, load_faces, run
from swaplab.core.errors import SwaplabError
from swaplab.core import metrics
from swaplab.core.media import write_image, write_video

runner = CliRunner()


def test_there_are_139_named_features() -> None:
    assert len(iqm.FEATURE_NAMES) == 139 == len(set(iqm.FEATURE_NAMES))
    face = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert iqm.iqm_features(face).shape == (139,)


def test_galbally_measures_by_hand_on_a_checkerboard() -> None:
    board = (np.indices((32, 32)).sum(0) % 2) * 100.0
    f = dict(zip(iqm.GALBALLY, iqm.galbally_features(board), strict=True))
    w = np.exp(-2.0) / (1 + 4 * np.exp(-2.0) + 4 * np.exp(-4.0))  # weight of each edge neighbour
    assert f["MD"] == pytest.approx(100 * 4 * w)  # interior: 4 opposite-valued neighbours
    assert f["AD"] == pytest.approx(0.0, abs=1e-9)  # interior: as many light as dark pixels
    assert f["RAMDv"] == pytest.approx(100 * 4 * w)


def test_galbally_measures_match_their_formulas() -> None:
    rng = np.random.default_rng(2)
    grey = ndimage.zoom(rng.uniform(20, 235, (12, 12)), 4, order=1)
    f = dict(zip(iqm.GALBALLY, iqm.galbally_features(grey), strict=True))
    g = signal.convolve2d(grey, iqm.gaussian_kernel(3, 0.5), mode="same", boundary="symm")
    d = grey - g
    lap = lambda x: ndimage.laplace(x, mode="reflect")  # noqa: E731
    interior = grey[1:-1, 1:-1] - signal.convolve2d(grey, iqm.gaussian_kernel(3, 0.5), mode="valid")
    expected = {"MSE": np.mean(d**2), "PSNR": 10 * np.log10(255**2 / np.mean(d**2)), "AD": interior.mean(),
                "SC": np.sum(grey**2) / np.sum(g**2), "NK": np.sum(grey * g) / np.sum(grey**2),
                "LMSE": np.sum((lap(grey) - lap(g)) ** 2) / np.sum(lap(grey) ** 2),
                "NAE": np.abs(d).sum() / grey.sum(), "SNRv": 10 * np.log10(np.sum(grey**2) / np.sum(d**2)),
                "RAMDv": np.sort(np.abs(d).ravel())[-10:].mean(),
                "SME": np.sum((np.abs(np.fft.rfft2(grey)) - np.abs(np.fft.rfft2(g))) ** 2) / grey.size}
    for name, value in expected.items():
        assert f[name] == pytest.approx(value, rel=1e-6), name
    assert iqm.ssim_index(grey, grey) == pytest.approx(1.0) and iqm.vif(grey, grey) == pytest.approx(1.0)
    assert iqm.angle_measures(grey, grey) == pytest.approx((1.0, 0.0), abs=1e-6)
    assert iqm.gradient_measures(grey, grey) == (0.0, 0.0)
    assert iqm.high_low_frequency_index(np.full((16, 16), 7.0)) == pytest.approx(1.0)  # all energy at DC
    assert 0 < f["SSIM"] < 1 and 0 < f["VIF"] < 1


def test_average_difference_is_not_constant() -> None:
    # before: AD was the whole-image mean of I - G with mirrored borders, 0 for every image
    kernel = iqm.gaussian_kernel(3, 0.5)
    y, x = np.mgrid[0:32, 0:32].astype(np.float64)
    bowl = 0.1 * ((x - 15.5) ** 2 + (y - 15.5) ** 2)  # I - G = -0.1 * 2 * (kernel variance per axis)
    variance = float(np.sum(kernel.sum(axis=0) * np.array([-1.0, 0.0, 1.0]) ** 2))
    assert iqm.average_difference(bowl) == pytest.approx(-0.2 * variance)
    assert iqm.average_difference(-bowl) == pytest.approx(0.2 * variance)
    rng = np.random.default_rng(0)
    values = {round(iqm.galbally_features(iqm.luma(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)))[2], 9)
              for _ in range(5)}
    assert len(values) == 5 and not any(v == 0 for v in values)


def test_wen_measures_by_hand() -> None:
    image = np.full((10, 10, 3), 10, np.uint8)
    image[:1] = 40  # 10 % of pixels have min channel 40; mean 13, so only they count as specular
    assert iqm.specular_features(image) == pytest.approx([0.1, 40 / 150, 0.0])
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    moments = iqm.chromatic_moments(red)  # hue 0 shifted to 0.5; saturation 1; value 1
    assert moments[[0, 1, 2, 3, 4]] == pytest.approx([0.5, 0, 0, 0, 0])
    assert moments[[5, 8, 9]] == pytest.approx([1, 0, 1]) and moments[[10, 14]] == pytest.approx([1, 1])
    two = np.zeros((4, 4, 3), np.uint8)
    two[:1] = 255  # 25 % white, 75 % black
    diversity = iqm.colour_diversity(two)
    assert diversity[:3] == pytest.approx([0.75, 0.25, 0]) and diversity[100] == pytest.approx(2 / 2000)
    step = np.zeros((20, 40))
    step[:, 20:] = 255
    assert iqm.crete_blur(step) == pytest.approx(1 / 9)  # the 9-tap blur keeps 1/9 of the jump
    row = np.concatenate([np.linspace(100, 60, 21), [120, 190, 250], np.linspace(248, 200, 25)])
    assert iqm.marziliano_blur(np.tile(row, (8, 1))) == pytest.approx(3.0)  # rise from 60 to 250 spans 3 px


def easy_set(n: int = 32, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Real: smooth random images. Fake: the same, blurred and with blocky re-compression."""
    rng = np.random.default_rng(0)
    real = [cv2.resize(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)
            for _ in range(n)]
    real = [np.clip(r + rng.normal(0, 6, r.shape), 0, 255).astype(np.uint8) for r in real]
    fake = [cv2.resize(cv2.GaussianBlur(r, (0, 0), 2.0)[::4, ::4], (size, size), interpolation=cv2.INTER_NEAREST)
            for r in real]
    return np.stack(real + fake), np.r_[np.zeros(n), np.ones(n)]


TINY = {"mesoinception4": {"input_size": 64, "epochs": 15, "batch_size": 16},
        "efficientnet": {"input_size": 64, "epochs": 15, "batch_size": 16}}


@pytest.mark.parametrize("name", DETECTORS.names())
def test_every_detector_separates_an_easy_set_and_reloads(name: str, tmp_path: Path) -> None:
    faces, labels = easy_set()
    detector = DETECTORS.get(name, **TINY.get(name, {})).fit(faces, labels)
    scores = detector.score(faces)
    assert scores.shape == (64,) and metrics.auc(scores[labels == 0], scores[labels == 1]) > 0.9
    again = load_detector(save_detector(detector, tmp_path / name), expected=name)
    np.testing.assert_allclose(again.score(faces), scores, rtol=1e-5, atol=1e-6)
    with pytest.raises(SwaplabError, match="needs real and fake faces"):
        DETECTORS.get(name, **TINY.get(name, {})).fit(faces[:32], labels[:32])


def test_protocol_on_the_sample(sample_faces: dict, tiny_swap: Path, tiny_swap_reverse: Path, hopper_clip: Path,
                                tmp_path: Path) -> None:
    fakes = {"tiny": (tiny_swap / 'swap' / 'fakes' / 'faces.csv', tiny_swap_reverse / 'fakes' / 'faces.csv')}
    table = pd.read_csv(run(DetectConfig(real=tuple(sample_faces.values()), fake=fakes, out=tmp_path, frame_step=2)).metrics_csv)
    assert list(table.columns) == list(COLUMNS)
    assert set(table.level) == {"frame", "video-mean", "video-median", "video-max"}
    frame = table[table.level == "frame"].iloc[0]
    for column in ("eval_apcer", "eval_bpcer", "eval_hter", "eval_auc", "eval_eer_oracle",
                   "eval_bpcer_at_dev_apcer10", "eval_bpcer20_oracle"):
        assert 0 <= frame[column] <= 1
    assert frame.eval_hter == pytest.approx((frame.eval_apcer + frame.eval_bpcer) / 2)
    # one pair swapped both ways links both people: no pair-disjoint split exists, and the output says so
    details = pd.read_json(tmp_path / "metrics.json", typ="series")
    assert not table.pair_disjoint.any() and "no pair-disjoint split" in details["split_note"]
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert set(scores.split) == {"dev", "eval"} and scores[scores.split == "eval"].identity.nunique() == 1
    assert not set(scores[scores.split == "eval"].identity) & set(scores[scores.split == "dev"].identity)
    detector = tmp_path / "detector"
    saved = pd.read_json(detector / "detector.json", typ="series")
    assert saved["preprocessing"]["crop_size"] == 256 and saved["preprocessing"]["face_type"] == "whole_face"
    assert not (detector / "crops.json").exists()
    # a video end to end (a real clip: a 4-iteration model pastes noise in which no face is found)
    result = runner.invoke(app, ["detect", "score", str(hopper_clip), "--model", str(detector)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("fake_score=")
    float(result.output.strip().splitlines()[-1].split("=")[1])


def face_rows(pairs: list[tuple[str, str]], loners: str = "") -> pd.DataFrame:
    """Rows as load_faces makes them: real faces of every person, and fakes of each (claimed, dst) pair
    made both ways by that pair's model."""
    rows = []
    people = sorted({p for pair in pairs for p in pair} | set(loners))
    for person in people:
        rows += [(person, person, "", f"{person}/{person}_0", f, 0, "") for f in range(4)]
    for a, b in pairs:
        for claimed, dst in ((a, b), (b, a)):
            run_id = f"swap-{claimed}{dst}"
            rows += [(dst, claimed, run_id, f"{run_id}/{dst}_0.swapped", f, 1, "t") for f in range(4)]
    return pd.DataFrame(rows, columns=["identity", "claimed", "generator_run", "video", "frame", "label", "tier"])


@pytest.mark.parametrize("seed", range(5))
def test_splits_are_pair_disjoint(seed: int) -> None:
    # before: splits went by the dst person only, so the two people of a pair (and the fakes of one
    # pair model) could land in train and eval
    rows = face_rows([("A", "B"), ("C", "D"), ("E", "F"), ("G", "H"), ("C", "I")], loners="J")
    split, pair_disjoint = assign_splits(rows, seed)
    rows = rows.assign(split=split)
    assert pair_disjoint and set(split) == {"train", "dev", "eval"}
    for group in ("AB", "CDI", "EF", "GH"):
        members = rows[rows.identity.isin(list(group)) | rows.claimed.isin(list(group))]
        assert members.split.nunique() == 1, (group, members.split.unique())
    for run_id, fakes in rows[rows.label == 1].groupby("generator_run"):
        assert fakes.split.nunique() == 1, run_id


def test_one_linked_pair_falls_back_and_says_so() -> None:
    split, pair_disjoint = assign_splits(face_rows([("A", "B")]), 0)
    assert not pair_disjoint and set(split) == {"train", "dev", "eval"}


def test_two_runs_on_one_dst_video_stay_two_videos(tmp_path: Path, face_record) -> None:
    # before: videos were keyed by the manifest folder's name (always `fakes`) and the video id, so the
    # fakes of two models swapped into the same dst video merged into one "video"
    manifests = []
    for name, run_id in (("real", ""), ("m1", "swap-1"), ("m2", "swap-2")):
        folder = tmp_path / name / "fakes"
        rows = [face_record("A" if run_id else "B", "B_0.swapped" if run_id else "B_0", f, run=run_id, source="B")
                for f in range(4)]
        for row in rows:
            write_image(folder / row.crop_path, np.full((32, 32, 3), 10 * row.frame_index, np.uint8))
        manifests.append(write_manifest(rows, folder / "faces.csv"))
    faces = load_faces([manifests[0]], {"t": manifests[1:]}, 1)
    videos = level_scores(faces.rows.assign(split="eval", score=0.0), "video-mean")
    assert len(videos[videos.label == 1]) == 2 and len(videos[videos.label == 0]) == 1
    kept = load_faces([manifests[0]], {"t": manifests[1:]}, 1, excluded=("swap-2",))
    assert kept.excluded == ("swap-2/B_0.swapped",) and set(kept.rows.generator_run) == {"", "swap-1"}


def detect_cli(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, ["detect", *args])
    return result.exit_code, result.stderr.strip()


def test_detector_bad_inputs(sample_faces: dict, tiny_swap: Path, tmp_path: Path) -> None:
    astronaut, hopper = sample_faces["astronaut"], sample_faces["grace_hopper"]
    fakes = tiny_swap / "swap" / "fakes" / "faces.csv"
    base = ["train", "--real", str(astronaut), "--real", str(hopper), "--out", str(tmp_path / "out")]
    code, err = detect_cli([*base, "--fake", f"x={astronaut}"])
    assert code == 2 and "holds real faces where fake were expected" in err
    code, err = detect_cli([*base, "--fake", f"x={fakes}", "--frame-step", "500"])
    assert code == 2 and "too few" in err
    resized = write_manifest([dataclasses.replace(r) for r in read_manifest(fakes)], fakes.parent / "copy.csv")
    small = tmp_path / "small"
    small.mkdir()
    for record in read_manifest(hopper)[:3]:
        image = cv2.imread(str(hopper.parent / record.crop_path))
        (small / record.crop_path).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(small / record.crop_path), cv2.resize(image, (64, 64)))
    mixed = write_manifest(read_manifest(hopper)[:3], small / "faces.csv")
    code, err = detect_cli(["train", "--real", str(astronaut), "--real", str(mixed), "--fake", f"x={resized}",
                            "--out", str(tmp_path / "m")])
    assert code == 2 and "mixed sizes" in err
    code, err = detect_cli(["score", str(fakes.parent), "--model", str(tiny_swap / "model")])
    assert code == 2 and "not a detector folder" in err
    blank = write_video([np.full((64, 64, 3), 90, np.uint8)] * 4, tmp_path / "blank.mp4", fps=25)
    folder = save_detector(DETECTORS.get("iqm-lda").fit(*easy_set(8)), tmp_path / "lda")
    code, err = detect_cli(["score", str(blank), "--model", str(folder)])
    assert code == 2 and "blank.mp4: no face found" in err
    assert not (tmp_path / "out" / "metrics.csv").exists()
