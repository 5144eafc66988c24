from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.datasets.manifest import read_manifest
from swaplab.core.fileio import sha256_of
from swaplab.core.media import write_video

runner = CliRunner()


def test_help_lists_every_stage_group() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("datasets", "generate", "detect", "evaluate", "report", "demo"):
        assert group in result.output
        sub = runner.invoke(app, [group, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output, group


def test_sample_then_extract(tmp_path: Path) -> None:
    result = runner.invoke(app, ["datasets", "sample", str(tmp_path / "s"), "--clips", "1", "--seconds", "1"])
    assert result.exit_code == 0, result.output
    clip = tmp_path / "s" / "grace_hopper" / "grace_hopper_00.mp4"
    result = runner.invoke(app, ["generate", "extract", str(clip), "--out", str(tmp_path / "f"),
                                 "--identity", "hopper", "--crop-size", "96", "--face-type", "face"])
    assert result.exit_code == 0, result.output
    records = read_manifest(tmp_path / "f" / "faces.csv")
    assert len(records) == 25 and {r.identity for r in records} == {"hopper"}
    assert {r.crop_size for r in records} == {96} and {r.face_type for r in records} == {"face"}


def test_config_file_and_command_line_merge(tmp_path: Path, astronaut_clip: Path) -> None:
    config = tmp_path / "extract.json"
    config.write_text('{"crop_size": 64, "identity": "from-file", "detect_every": 8}')
    result = runner.invoke(app, ["generate", "extract", str(astronaut_clip), "--out", str(tmp_path / "f"),
                                 "--config", str(config), "--identity", "from-cli"])
    assert result.exit_code == 0, result.output
    records = read_manifest(tmp_path / "f" / "faces.csv")
    assert {r.identity for r in records} == {"from-cli"} and {r.crop_size for r in records} == {64}
    assert "every=8" in records[0].detector


def bad_inputs(tmp_path: Path, clip: Path) -> dict[str, tuple[list[str], str]]:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    blank = write_video([np.full((64, 64, 3), 128, np.uint8)] * 5, tmp_path / "blank.mp4", fps=25)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    out = str(tmp_path / "out")
    return {
        "missing": ([str(tmp_path / "nope.mp4"), "--out", out], "nope.mp4: no such file"),
        "not media": ([str(text), "--out", out], "notes.txt: not a video or image file"),
        "truncated": ([str(cut), "--out", out], "cut.mp4: corrupt or truncated video"),
        "empty": ([str(empty), "--out", out], "empty.mp4: file is empty"),
        "no face": ([str(blank), "--out", out], "blank.mp4: no face found"),
        "unwritable out": ([str(clip), "--out", str(a_file / "sub")], "output folder cannot be written"),
        "bad crop size": ([str(clip), "--out", out, "--crop-size", "100"], "crop size 100 not supported"),
    }


@pytest.mark.parametrize("case", ["missing", "not media", "truncated", "empty", "no face", "unwritable out",
                                  "bad crop size"])
def test_bad_input_gives_one_clear_line(case: str, tmp_path: Path, astronaut_clip: Path) -> None:
    before = sha256_of(astronaut_clip)
    args, message = bad_inputs(tmp_path, astronaut_clip)[case]
    result = runner.invoke(app, ["generate", "extract", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "faces.csv").exists()
    assert sha256_of(astronaut_clip) == before
