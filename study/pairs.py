"""Choosing who is swapped with whom: look-alike pairs by FaceNet templates, or a pairs file."""

from __future__ import annotations

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


def lookalike_pairs(templates: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """Greedy pairing by highest template cosine similarity; each identity once (an odd one out
    joins its most similar partner), as the study paired look-alike subjects."""
    names = sorted(templates)
    if len(names) < 2:
        raise SwaplabError(f"{len(names)} identity found: a swap needs at least two people")
    matrix = np.stack([templates[n] for n in names])
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -np.inf)
    free, pairs = set(names), []
    for flat in np.argsort(-similarity, axis=None):
        a, b = names[flat // len(names)], names[flat % len(names)]
        if a < b and a in free and b in free:
            pairs.append((a, b))
            free -= {a, b}
    for leftover in sorted(free):
        partner = names[int(np.argmax(similarity[names.index(leftover)]))]
        pairs.append((leftover, partner))
    return pairs
