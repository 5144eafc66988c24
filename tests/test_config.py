import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from swaplab.core.cli_support import parse_tiers
from swaplab.core.config import build_config, save_config
from swaplab.core.errors import SwaplabError


@dataclass(frozen=True)
class Demo:
    out: Path
    size: int = 64
    inputs: tuple[Path, ...] = ()


def test_file_fills_and_command_line_wins(tmp_path: Path) -> None:
    file = tmp_path / "c.json"
    file.write_text(json.dumps({"out": "x", "size": 128, "inputs": ["a", "b"]}))
    cfg = build_config(Demo, file, size=96, out=None)
    assert cfg == Demo(out=Path("x"), size=96, inputs=(Path("a"), Path("b")))


@dataclass(frozen=True)
class Tiered:
    out: Path
    fake: dict[str, tuple[Path, ...]]


def test_tier_mappings_read_back_typed(tmp_path: Path) -> None:
    cfg = Tiered(out=tmp_path, fake={"lq": (Path("a/faces.csv"),), "hq": (Path("b/faces.csv"), Path("c/faces.csv"))})
    assert build_config(Tiered, save_config(cfg, tmp_path / "tiered.json")) == cfg


def test_tier_entries_are_parsed_in_the_cli_only() -> None:
    assert parse_tiers(["lq=a.csv", "hq=b.csv", "lq=c.csv"]) == {"lq": (Path("a.csv"), Path("c.csv")),
                                                                  "hq": (Path("b.csv"),)}
    with pytest.raises(SwaplabError, match="TIER=MANIFEST"):
        parse_tiers(["faces.csv"])


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
