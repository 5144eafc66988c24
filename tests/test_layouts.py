import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.datasets.layouts import LAYOUTS, index_dataset, role_of, segment_bounds, segment_records
from swaplab.datasets.video_index import VideoRecord, read_index, write_index
from swaplab.core.errors import SwaplabError

runner = CliRunner()


def touch(root: Path, *paths: str) -> Path:
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(b"x")
    return root


def build(layout: str, root: Path) -> Path:
    trees = {
        "folder": ["alice/a1.mp4", "alice/a2.mov", "bob/b1.mkv", "carol/001.png", "carol/002.png"],
        "vidtimit": ["fadg0/video/sa1/001", "fadg0/video/sa1/002", "fadg0/audio/sa1.wav", "mccs0/video/si1/001"],
        "deepfaketimit": ["lower_quality/fadg0/sa1-video-fram1.avi", "higher_quality/fadg0/sa1-video-fram1.avi",
                          "higher_quality/mccs0/si2-video-mwbt0.avi"],
        "faceforensics": ["original_sequences/youtube/c23/videos/000.mp4", "original_sequences/youtube/c23/videos/003.mp4",
                          "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4"],
        "celebdf": ["Celeb-real/id0_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4", "YouTube-real/00170.mp4"],
    }
    touch(root, *trees[layout])
    if layout == "faceforensics":
        (root / "splits").mkdir()
        (root / "splits" / "test.json").write_text(json.dumps([["000", "003"]]))
    if layout == "celebdf":
        (root / "List_of_testing_videos.txt").write_text("1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n")
    return root


def test_every_layout_is_covered() -> None:
    assert LAYOUTS.names() == ["celebdf", "deepfaketimit", "faceforensics", "folder", "vidtimit"]


def test_folder_and_vidtimit(tmp_path: Path) -> None:
    rows = index_dataset(build("folder", tmp_path / "f"), "folder")
    assert [(r.path, r.identity) for r in rows] == [("alice/a1.mp4", "alice"), ("alice/a2.mov", "alice"),
                                                   ("bob/b1.mkv", "bob"), ("carol", "carol")]
    rows = index_dataset(build("vidtimit", tmp_path / "v"), "vidtimit")
    assert [(r.path, r.identity, r.audio_path) for r in rows] == [
        ("fadg0/video/sa1", "fadg0", "fadg0/audio/sa1.wav"), ("mccs0/video/si1", "mccs0", "")]


def test_fake_layouts_name_both_people(tmp_path: Path) -> None:
    rows = index_dataset(build("deepfaketimit", tmp_path / "d"), "deepfaketimit")
    assert {(r.identity, r.source_identity, r.tier, r.label) for r in rows} == {
        ("fadg0", "fram1", "lq", "fake"), ("fadg0", "fram1", "hq", "fake"), ("mccs0", "mwbt0", "hq", "fake")}
    rows = index_dataset(build("faceforensics", tmp_path / "ff"), "faceforensics")
    fake = next(r for r in rows if r.label == "fake")
    assert (fake.identity, fake.source_identity, fake.method, fake.tier, fake.split) == ("003", "000", "Deepfakes", "c23", "test")
    rows = index_dataset(build("celebdf", tmp_path / "c"), "celebdf")
    by_path = {r.path: r for r in rows}
    assert by_path["Celeb-synthesis/id0_id1_0000.mp4"].identity == "id1"
    assert by_path["Celeb-synthesis/id0_id1_0000.mp4"].source_identity == "id0"
    assert by_path["YouTube-real/00170.mp4"].split == "test" and by_path["Celeb-real/id0_0000.mp4"].split == "train"


def test_index_round_trip(tmp_path: Path) -> None:
    root = build("faceforensics", tmp_path / "ff")
    rows = index_dataset(root, "faceforensics")
    found_root, back = read_index(write_index(rows, root, tmp_path / "index.csv"))
    assert back == rows and found_root == root.resolve()


@pytest.mark.parametrize("layout", ["folder", "vidtimit", "deepfaketimit", "faceforensics", "celebdf"])
def test_wrong_trees_fail_clearly(layout: str, tmp_path: Path) -> None:
    touch(tmp_path, "something/else.txt")
    with pytest.raises(SwaplabError, match=f"the {layout} layout expects|expects|missing"):
        index_dataset(tmp_path, layout)


def test_malformed_names_and_cli(tmp_path: Path) -> None:
    touch(tmp_path / "d", "higher_quality/fadg0/oops.avi")
    result = runner.invoke(app, ["datasets", "index", str(tmp_path / "d"), "--layout", "deepfaketimit",
                                 "--out", str(tmp_path / "i.csv")])
    assert result.exit_code == 2 and "<sentence>-video-<filmed person>.avi" in result.stderr
    result = runner.invoke(app, ["datasets", "index", str(tmp_path), "--layout", "ucf", "--out", str(tmp_path / "i.csv")])
    assert result.exit_code == 2 and "unknown dataset layout 'ucf'; choose one of: celebdf" in result.stderr
    root = build("folder", tmp_path / "f")
    result = runner.invoke(app, ["datasets", "index", str(root), "--layout", "folder", "--out", str(tmp_path / "i.csv")])
    assert result.exit_code == 0 and "4 videos (0 fake) of 3 identities" in result.output


def test_folder_layout_takes_one_video_per_person_at_the_root(tmp_path: Path) -> None:
    rows = index_dataset(touch(tmp_path, "lp_d3.mp4", "vr_1.mp4", "notes.txt"), "folder")
    assert [(r.path, r.identity) for r in rows] == [("lp_d3.mp4", "lp_d3"), ("vr_1.mp4", "vr_1")]


def test_segment_bounds_and_roles() -> None:
    assert segment_bounds(10.0, 3.0) == [(0.0, 3.0), (3.0, 6.0), (6.0, 10.0)]
    assert segment_bounds(2.4, 4.0) == [(0.0, 0.8), (0.8, 1.6), (1.6, 2.4)]  # short: three equal parts
    assert [role_of(k, 8) for k in range(8)] == ["enrol"] + ["train"] * 4 + ["probe"] * 3
    assert [role_of(k, 3) for k in range(3)] == ["enrol", "train", "probe"]


def test_segmented_index_round_trip_and_cli(sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "index.csv"
    result = runner.invoke(app, ["datasets", "index", str(sample_dir), "--layout", "folder", "--segment-seconds", "1",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 videos (0 fake), 12 segments of 2 identities" in result.output
    root, rows = read_index(out)
    assert out.read_text().startswith("# swaplab-video-index version=2 ")
    astronaut = [r for r in rows if r.identity == "astronaut"]
    assert [(r.segment, r.role) for r in astronaut] == [("s00", "enrol"), ("s01", "train"), ("s02", "train"),
                                                         ("s00", "train"), ("s01", "probe"), ("s02", "probe")]
    assert astronaut[1].start == astronaut[0].end and astronaut[1].contains(astronaut[1].start)
    assert not astronaut[1].contains(astronaut[1].end)
    assert rows == segment_records(index_dataset(sample_dir, "folder"), sample_dir, 1.0)
    result = runner.invoke(app, ["datasets", "index", str(sample_dir), "--layout", "folder", "--segment-seconds",
                                 "0.1", "--out", str(out)])
    assert result.exit_code == 2 and "segments need at least 0.5 s" in result.stderr


def test_version_1_indexes_are_still_read(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("# swaplab-video-index version=1 root=/data\n"
                                      "path,identity,label,tier,method,split,source_identity,audio_path\n"
                                      "a/1.mp4,a,real,,,,a,\n")
    root, rows = read_index(tmp_path / "old.csv")
    assert rows == [VideoRecord("a/1.mp4", "a")] and rows[0].start is None and rows[0].contains(123.0)
    (tmp_path / "bad.csv").write_text("# swaplab-video-index version=2 root=/data\npath,identity,start,end\n"
                                      "a/1.mp4,a,3.0,1.0\n")
    with pytest.raises(SwaplabError, match="broken video index .*not an interval"):
        read_index(tmp_path / "bad.csv")
