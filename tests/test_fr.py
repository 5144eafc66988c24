import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.datasets.manifest import read_manifest, write_manifest
from swaplab.core import metrics
from swaplab.faces.backends import FR_BACKENDS, AlignedFace
from swaplab.faces.facenet import FaceNetCV2, FaceNetTorch
from swaplab.evaluate.fr import COLUMNS, FRConfig, run
from swaplab.evaluate.protocol import Face, assign_probes, exclude_fakes
from swaplab.core.media import read_image

runner = CliRunner()


def first_faces(manifest: Path, count: int) -> np.ndarray:
    records = [r for r in read_manifest(manifest) if r.has_face][:count]
    backend = FaceNetTorch(device="cpu")
    return np.stack([backend.prepare(AlignedFace.from_record(read_image(manifest.parent / r.crop_path), r))
                     for r in records])


def test_torch_facenet_matches_the_opencv_graph(sample_faces: dict[str, Path]) -> None:
    faces = np.concatenate([first_faces(m, 3) for m in sample_faces.values()])
    cosine = np.sum(FaceNetTorch(device="cpu").embed(faces) * FaceNetCV2().embed(faces), axis=1)
    assert cosine.min() >= 0.999


@pytest.mark.parametrize("name", FR_BACKENDS.names())
def test_every_backend_separates_the_two_sample_people(name: str, sample_faces: dict[str, Path]) -> None:
    backend = FR_BACKENDS.get(name)
    embedded = {}
    for identity, manifest in sample_faces.items():
        records = [r for r in read_manifest(manifest) if r.has_face][::10]
        faces = [backend.prepare(AlignedFace.from_record(read_image(manifest.parent / r.crop_path), r))
                 for r in records]
        embedded[identity] = backend.embed(np.stack(faces))
    a, b = embedded.values()
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    genuine, impostor = (a @ a.T)[np.triu_indices(len(a), 1)], (a @ b.T).ravel()
    assert genuine.mean() > impostor.mean() and metrics.eer(impostor, genuine)[0] < 0.1


def test_protocol_on_the_sample_with_a_tiny_swap(sample_faces: dict[str, Path], tiny_swap: Path, tmp_path: Path) -> None:
    attacks = tiny_swap / "swap" / "fakes" / "faces.csv"
    table = pd.read_csv(run(FRConfig(genuine=tuple(sample_faces.values()), out=tmp_path, attacks={"tiny": (attacks,)},
                                     bootstrap=50, device="cpu")).metrics_csv)
    assert list(table.columns) == list(COLUMNS)
    assert sorted(zip(table.backend, table.level, strict=True)) == [
        ("dlib", "frame"), ("dlib", "video"), ("facenet", "frame"), ("facenet", "video"), ("lbp", "frame"),
        ("lbp", "video")]
    details = json.loads((tmp_path / "metrics.json").read_text())
    assert details["split"] == "segment" and details["enrolment_videos"]["astronaut"] == "astronaut_00"
    assert details["excluded_fakes"] == 0 and details["columns"] == COLUMNS
    assert details["backends"]["dlib"]["preprocessing"]["input_size"] == 150
    for name in ("facenet", "dlib"):
        strong = table[(table.backend == name) & (table.level == "frame")].iloc[0]
        assert strong.dev_eer <= 0.05 and 0 <= strong.iapmr <= 1, name
        assert strong.iapmr_cp_low <= strong.iapmr <= strong.iapmr_cp_high
    facenet = table[(table.backend == "facenet") & (table.level == "frame")].iloc[0]
    # the printed IAPMR is the share of eval attack scores at or above the dev threshold
    found = next(r for r in details["results"] if r["backend"] == "facenet" and r["level"] == "frame")
    lines = (tmp_path / "scores/facenet/frame/spoof-tiny-eval.txt").read_text().split("\n")
    rows = [line.split() for line in lines if line]
    assert all(len(row) == 4 for row in rows)
    attack_scores = [float(s) for claimed, real, probe, s in rows if "grace_hopper_01.swapped" in probe]
    assert np.mean(np.array(attack_scores) >= found["threshold"]) == pytest.approx(facenet.iapmr)
    # two subjects: no bootstrap interval, and the reason is written down
    assert np.isnan(facenet.iapmr_boot_low) and "too few subjects" in found["iapmr_bootstrap"]["note"]
    # a few dozen dev impostor scores cannot resolve FMR = 1 %: empty, with the reason
    assert np.isnan(facenet.iapmr_at_fmr_1pct) and np.isnan(facenet.fnmr_at_fmr_0p1pct)
    assert "at least 300 dev impostor scores" in found["operating_points"]["1pct"]["reason"]


def test_excluded_fake_videos_are_left_out_and_counted(sample_faces: dict[str, Path], tiny_swap: Path,
                                                      tiny_swap_reverse: Path, tmp_path: Path) -> None:
    manifests = (tiny_swap / "swap" / "fakes" / "faces.csv", tiny_swap_reverse / "fakes" / "faces.csv")
    failed = read_manifest(manifests[1])[0]
    common = dict(genuine=tuple(sample_faces.values()), attacks={"tiny": manifests}, backends=("lbp",), bootstrap=5)
    every = pd.read_csv(run(FRConfig(out=tmp_path / "all", **common)).metrics_csv)
    kept = pd.read_csv(run(FRConfig(out=tmp_path / "kept", excluded=(failed.generator_run,), **common)).metrics_csv)
    details = json.loads((tmp_path / "kept" / "metrics.json").read_text())
    assert details["excluded_fakes"] == 1
    assert details["excluded_fake_videos"] == [f"{failed.generator_run}/{failed.video_id}"]
    assert (kept.n_attacks_eval < every.n_attacks_eval).all()
    scores = pd.read_csv(tmp_path / "kept" / "scores" / "lbp" / "frame" / "scores.csv")
    assert not scores.video.str.startswith(failed.generator_run).any()


def test_identity_split_puts_attacks_where_their_identity_is(face_record) -> None:
    # genuine A-D alternate A dev, B eval, C dev, D eval. Attacks claim only B and D; before, they were
    # ordered among themselves (B dev, D eval), so B's genuine probes were in eval and its attacks in dev.
    genuine = [Face(face_record(i, f"{i}_{v}"), Path("m.csv")) for i in "ABCD" for v in range(2)]
    attacks = {"t": [Face(face_record(i, f"{i}_1.swapped", run="swap-1"), Path("f.csv")) for i in "BD"]}
    videos = {i: [f"{i}_0", f"{i}_1"] for i in "ABCD"}
    _, probes = assign_probes(genuine, attacks, videos, "identity")
    split_of = {(p.kind, p.face.record.identity): p.split for p in probes}
    for identity in "BD":
        assert split_of["attack", identity] == split_of["genuine", identity], identity
    assert split_of["genuine", "B"] == "eval"


def test_exclusion_matches_video_run_or_both(face_record) -> None:
    faces = [Face(face_record("A", "A_1.swapped", run=r), Path("f.csv")) for r in ("swap-1", "swap-2")]
    assert [f.record.generator_run for f in exclude_fakes(faces, ["swap-1"])[0]] == ["swap-2"]
    assert exclude_fakes(faces, ["swap-2/A_1.swapped"])[1] == ["swap-2/A_1.swapped"]
    assert exclude_fakes(faces, ["A_1.swapped"])[0] == []  # a bare video id matches every run's copy
    assert exclude_fakes(faces, [])[0] == faces


def fr_cli(genuine: list[Path], attacks: list[str], out: Path) -> tuple[int, str]:
    args = ["evaluate", "fr", "--out", str(out), "--backend", "lbp", "--bootstrap", "5"]
    for manifest in genuine:
        args += ["--genuine", str(manifest)]
    for attack in attacks:
        args += ["--attacks", attack]
    result = runner.invoke(app, args)
    return result.exit_code, result.stderr.strip()


def test_protocol_bad_inputs_give_one_clear_line(sample_faces: dict[str, Path], tiny_swap: Path, tmp_path: Path) -> None:
    fakes = tiny_swap / "swap" / "fakes" / "faces.csv"
    astronaut, hopper = sample_faces["astronaut"], sample_faces["grace_hopper"]
    code, err = fr_cli([astronaut], [f"x={fakes}"], tmp_path / "a")
    assert code == 2 and "zero-effort impostors need at least 2" in err
    one_video = [r for r in read_manifest(hopper) if r.video_id == "grace_hopper_00"]
    lonely = write_manifest(one_video, hopper.parent / "one_video.csv")
    code, err = fr_cli([astronaut, lonely], [f"x={fakes}"], tmp_path / "b")
    assert code == 2 and "['grace_hopper'] have one video only" in err
    empty = write_manifest([r for r in read_manifest(fakes) if not r.has_face], fakes.parent / "empty.csv")
    code, err = fr_cli([astronaut, hopper], [f"x={empty}"], tmp_path / "c")
    assert code == 2 and "attack set 'x' holds no faces" in err
    resized = write_manifest([dataclasses.replace(r, crop_size=128) for r in read_manifest(hopper)],
                             hopper.parent / "resized.csv")
    code, err = fr_cli([astronaut, resized], [f"x={fakes}"], tmp_path / "d")
    assert code == 2 and "mix crop sizes" in err
    code, err = fr_cli([astronaut, hopper], [str(fakes)], tmp_path / "e")
    assert code == 2 and "TIER=MANIFEST" in err
    for out in "abcde":
        assert not (tmp_path / out / "metrics.csv").exists()


def test_verify_prints_a_score_or_a_clear_error(astronaut_clip: Path, sample_dir: Path, tmp_path: Path) -> None:
    same = runner.invoke(app, ["evaluate", "verify", str(astronaut_clip), str(sample_dir / "astronaut/astronaut_01.mp4")])
    other = runner.invoke(app, ["evaluate", "verify", str(astronaut_clip), str(sample_dir / "grace_hopper/grace_hopper_00.mp4")])
    assert same.exit_code == 0 and other.exit_code == 0
    score = lambda result: float(result.output.strip().splitlines()[-1].removeprefix("score="))  # noqa: E731
    assert score(same) > 0.8 > 0.5 > score(other)
    blank = tmp_path / "blank.png"
    from swaplab.core.media import write_image

    write_image(blank, np.full((64, 64, 3), 120, np.uint8))
    result = runner.invoke(app, ["evaluate", "verify", str(astronaut_clip), str(blank)])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {blank}: no face found"
