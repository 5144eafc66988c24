"""Choosing who is swapped with whom: look-alike pairs by FaceNet templates, or a pairs file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from swaplab.core.errors import SwaplabError


def read_pairs(path: Path, identities: set[str]) -> list[tuple[str, str]]:
    """Pairs from a text file, one ``src dst`` per line (``#`` comments allowed)."""
    pairs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or words[0] == words[1]:
            raise SwaplabError(f"{path}: line {number} should name two different identities: 'src dst'")
        unknown = set(words) - identities
        if unknown:
            raise SwaplabError(f"{path}: line {number} names unknown identities {sorted(unknown)}")
        pairs.append((words[0], words[1]))
    if not pairs:
        raise SwaplabError(f"{path}: no pairs")
    return pairs


def _rule_out(similarity: np.ndarray, names: list[str], allowed: Callable[[str, str], bool]) -> None:
    """Set the similarity (N, N) of every pair that ``allowed`` rules out to -inf, in place."""
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j and not allowed(min(a, b), max(a, b)):
                similarity[i, j] = -np.inf


def lookalike_pairs(templates: dict[str, np.ndarray],
                    allowed: Callable[[str, str], bool] | None = None) -> list[tuple[str, str]]:
    """Greedy pairing by highest template cosine similarity; each identity once (an odd one out
    joins its most similar partner), as the study paired look-alike subjects.

    ``allowed(a, b)`` restricts the pairs (e.g. to those a pretrained model never saw); an identity
    with no allowed partner is left out.
    """
    names = sorted(templates)
    if len(names) < 2:
        raise SwaplabError(f"{len(names)} identity found: a swap needs at least two people")
    matrix = np.stack([templates[n] for n in names])
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -np.inf)
    if allowed is not None:
        _rule_out(similarity, names, allowed)
    free, pairs = set(names), []
    for flat in np.argsort(-similarity, axis=None):
        a, b = names[flat // len(names)], names[flat % len(names)]
        if a < b and a in free and b in free and np.isfinite(similarity[flat // len(names), flat % len(names)]):
            pairs.append((a, b))
            free -= {a, b}
    for leftover in sorted(free):
        row = similarity[names.index(leftover)]
        if np.isfinite(row).any():
            pairs.append((leftover, names[int(np.argmax(row))]))
    if not pairs:
        raise SwaplabError("no two people may be paired (every pair was ruled out)")
    return pairs
