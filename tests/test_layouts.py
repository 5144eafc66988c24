import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.datasets.layouts import LAYOUTS, index_dataset
from swaplab.datasets.video_index import read_index, write_index
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
