import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from swaplab.config import build_config, save_config
from swaplab.errors import SwaplabError


@dataclass(frozen=True)
class Demo:
    out: Path
    size: int = 64
    inputs: tuple[Path, ...] = ()


def test_file_fills_and_command_line_wins(tmp_path: Path) -> None:
    file = tmp_path / "c.json"
    file.write_text(json.dumps({"out": "x", "size": 128, "inputs": ["a", "b"]}))
    cfg = build_config(Demo, file, size=96, out=None)
    assert cfg == Demo(out=Path("x"), size=96, inputs=("a", "b"))


def test_saved_config_reads_back(tmp_path: Path) -> None:
    cfg = Demo(out=tmp_path, size=96)
    saved = save_config(cfg, tmp_path / "demo_config.json")
    assert build_config(Demo, saved) == cfg


def test_unknown_keys_and_bad_json_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"out": "x", "colour": 1}))
    with pytest.raises(SwaplabError, match="unknown config keys \\['colour'\\]"):
        build_config(Demo, bad)
    bad.write_text("{not json")
    with pytest.raises(SwaplabError, match="not a JSON config file"):
        build_config(Demo, bad)
