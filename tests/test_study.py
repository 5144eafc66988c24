from pathlib import Path

import numpy as np
import pytest

from swaplab.core.errors import SwaplabError
from swaplab.study.build import BuildConfig, genuine_videos
from swaplab.study.build import run as build_run
from swaplab.study.pairs import lookalike_pairs, read_pairs
from swaplab.datasets.video_index import VideoRecord, write_index


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
    rows = [VideoRecord("a/1.mp4", "a"), VideoRecord("a/2.mp4", "a"), VideoRecord("b/1.mp4", "b")]
    with pytest.raises(SwaplabError, match="\\['b'\\] have one real video only"):
        genuine_videos(rows, tmp_path)
    index = write_index(rows[:2], tmp_path, tmp_path / "index.csv")
    with pytest.raises(SwaplabError, match="unknown executor 'spark'"):
        build_run(BuildConfig(index=index, out=tmp_path / "out", executor="spark"))
