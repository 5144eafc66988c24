"""Look-alike pairing restricted to allowed pairs (a pretrained model must never have seen a pair)."""

from __future__ import annotations

import numpy as np
import pytest

from swaplab.core.errors import SwaplabError
from swaplab.study.pairs import lookalike_pairs


def _templates() -> dict[str, np.ndarray]:
    angles = {"a": 0.0, "b": 0.1, "c": 1.0, "d": 1.1}
    return {name: np.array([np.cos(t), np.sin(t)]) for name, t in angles.items()}


def test_pairs_keep_to_the_allowed_ones() -> None:
    assert lookalike_pairs(_templates()) == [("a", "b"), ("c", "d")]
    halves = {"a": 0, "c": 0, "b": 1, "d": 1}
    pairs = lookalike_pairs(_templates(), allowed=lambda x, y: halves[x] == halves[y])
    assert sorted(pairs) == [("a", "c"), ("b", "d")]


def test_a_person_without_an_allowed_partner_is_left_out() -> None:
    pairs = lookalike_pairs(_templates(), allowed=lambda x, y: "d" not in (x, y))
    assert ("a", "b") in pairs and all("d" not in pair for pair in pairs)
    with pytest.raises(SwaplabError, match="ruled out"):
        lookalike_pairs(_templates(), allowed=lambda x, y: False)
