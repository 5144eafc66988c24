"""Biometric and presentation-attack metrics: pure numpy functions.

Argument order everywhere is ``(negatives, positives[, threshold])``, as in
bob.measure:

* face recognition: ``negatives`` are zero-effort impostor scores,
  ``positives`` genuine scores; **higher = more genuine**; a comparison is
  accepted when ``score >= threshold``.
* deepfake detection (ISO/IEC 30107-3 names): ``attacks`` come first and
  ``bona_fide`` second; detector scores are **higher = more likely fake**; a
  sample is classified as an attack when ``score >= threshold``.

Names follow ISO/IEC 19795-1 (FMR, FNMR) and ISO/IEC 30107-3 (APCER, BPCER,
IAPMR).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve


def _scores(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"no {what} scores")
    if np.isnan(array).any():
        raise ValueError(f"{what} scores contain NaN")
    return array


def fmr_fnmr(negatives, positives, threshold: float) -> tuple[float, float]:
    """False match rate (impostors with score >= threshold) and false non-match rate
    (genuine with score < threshold)."""
    neg, pos = _scores(negatives, "negative"), _scores(positives, "positive")
    return float(np.mean(neg >= threshold)), float(np.mean(pos < threshold))


def _candidate_thresholds(neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The lowest score (accept everything), the midpoints between consecutive distinct scores,
    and a value above the highest (accept nothing).

    Midpoints make a threshold chosen in a gap between the classes sit in the middle of
    that gap, rather than on one class's extreme score: with well separated licit scores,
    the IAPMR at the licit threshold would otherwise depend on that arbitrary choice.
    """
    values = np.unique(np.concatenate([neg, pos]))
    return np.concatenate([values[:1], (values[:-1] + values[1:]) / 2, [np.nextafter(values[-1], np.inf)]])


def _rates(neg: np.ndarray, pos: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FMR and FNMR at each threshold, vectorised with sorted scores."""
    neg_sorted, pos_sorted = np.sort(neg), np.sort(pos)
    fmr = 1.0 - np.searchsorted(neg_sorted, thresholds, side="left") / neg.size
    fnmr = np.searchsorted(pos_sorted, thresholds, side="left") / pos.size
    return fmr, fnmr


def eer(negatives, positives) -> tuple[float, float]:
    """Equal error rate and its threshold.

    The threshold minimises |FMR - FNMR| over the candidate thresholds
    (midpoints between observed scores); since the two rates are rarely
    exactly equal there, the EER reported is their mean.

    Returns
    -------
    (eer, threshold)
    """
    neg, pos = _scores(negatives, "negative"), _scores(positives, "positive")
    thresholds = _candidate_thresholds(neg, pos)
    fmr, fnmr = _rates(neg, pos, thresholds)
    best = int(np.argmin(np.abs(fmr - fnmr) + 1e-12 * np.arange(len(thresholds))))
    return float((fmr[best] + fnmr[best]) / 2), float(thresholds[best])


def threshold_at_fmr(negatives, positives, target: float) -> float:
    """The lowest threshold whose FMR does not exceed ``target`` (most genuine accepted)."""
    neg, pos = _scores(negatives, "negative"), _scores(positives, "positive")
    thresholds = _candidate_thresholds(neg, pos)
    fmr, _ = _rates(neg, pos, thresholds)
    return float(thresholds[np.argmax(fmr <= target)])


def fnmr_at_fmr(negatives, positives, target: float) -> tuple[float, float]:
    """FNMR at the threshold where FMR <= ``target``; returns (fnmr, threshold)."""
    threshold = threshold_at_fmr(negatives, positives, target)
    return fmr_fnmr(negatives, positives, threshold)[1], threshold


def hter(dev_negatives, dev_positives, eval_negatives, eval_positives) -> tuple[float, float]:
    """Half total error rate on eval at the EER threshold chosen on dev; returns (hter, threshold)."""
    _, threshold = eer(dev_negatives, dev_positives)
    fmr, fnmr = fmr_fnmr(eval_negatives, eval_positives, threshold)
    return (fmr + fnmr) / 2, threshold


def roc(negatives, positives) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC points (scikit-learn): false match rate, true match rate (1 - FNMR), thresholds."""
    neg, pos = _scores(negatives, "negative"), _scores(positives, "positive")
    labels = np.r_[np.zeros(neg.size), np.ones(pos.size)]
    fmr, tmr, thresholds = roc_curve(labels, np.r_[neg, pos], drop_intermediate=False)
    return fmr, tmr, thresholds


def det(negatives, positives) -> tuple[np.ndarray, np.ndarray]:
    """DET points: FMR and FNMR at every threshold, for probit axes (see :func:`probit`)."""
    neg, pos = _scores(negatives, "negative"), _scores(positives, "positive")
    return _rates(neg, pos, _candidate_thresholds(neg, pos))


def probit(rates: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """Normal deviate of error rates (DET-curve axes), clipped to [floor, 1 - floor]."""
    return stats.norm.ppf(np.clip(rates, floor, 1 - floor))


def auc(negatives, positives) -> float:
    """Area under the ROC curve (scikit-learn); 1 = positives always score higher."""
    neg, pos = _scores(negatives, "negative"), _scores(positives, "positive")
    return float(roc_auc_score(np.r_[np.zeros(neg.size), np.ones(pos.size)], np.r_[neg, pos]))


# --- presentation attacks (ISO/IEC 30107-3) -----------------------------------------------

def iapmr(attacks, threshold: float) -> float:
    """Impostor attack presentation match rate: share of attack comparisons an FR system
    accepts (FR score >= threshold; higher = more genuine)."""
    return float(np.mean(_scores(attacks, "attack") >= threshold))


def apcer_bpcer(attacks, bona_fide, threshold: float) -> tuple[float, float]:
    """APCER (attacks scored below threshold, taken as bona fide) and BPCER (bona fide scored at
    or above threshold, taken as attacks); detector scores higher = more likely fake."""
    bpcer, apcer = fmr_fnmr(bona_fide, attacks, threshold)
    return apcer, bpcer


def detection_eer(attacks, bona_fide) -> tuple[float, float]:
    """EER of a detector (higher = more likely fake); returns (eer, threshold)."""
    return eer(bona_fide, attacks)


def bpcer_at_apcer(attacks, bona_fide, target: float) -> tuple[float, float]:
    """BPCER at the highest threshold whose APCER does not exceed ``target``.

    ``target = 0.05`` gives BPCER20, ``0.01`` BPCER100; ``0.10`` gives the study's
    "FRR at FAR = 10 %". Returns (bpcer, threshold).
    """
    att, bon = _scores(attacks, "attack"), _scores(bona_fide, "bona fide")
    thresholds = _candidate_thresholds(bon, att)
    bpcer, apcer = _rates(bon, att, thresholds)
    threshold = float(thresholds[np.nonzero(apcer <= target)[0][-1]])
    return apcer_bpcer(att, bon, threshold)[1], threshold


def detection_hter(dev_attacks, dev_bona_fide, eval_attacks, eval_bona_fide) -> tuple[float, float]:
    """HTER on eval at the detector's EER threshold chosen on dev; returns (hter, threshold)."""
    return hter(dev_bona_fide, dev_attacks, eval_bona_fide, eval_attacks)


# --- confidence intervals -------------------------------------------------------------------

def wilson_interval(errors: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a rate ``errors / total``."""
    if total <= 0:
        return (float("nan"), float("nan"))
    z = stats.norm.ppf(0.5 + confidence / 2)
    rate = errors / total
    centre = (rate + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def clopper_pearson(errors: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a rate ``errors / total``."""
    if total <= 0:
        return (float("nan"), float("nan"))
    alpha = 1 - confidence
    low = 0.0 if errors == 0 else stats.beta.ppf(alpha / 2, errors, total - errors + 1)
    high = 1.0 if errors == total else stats.beta.ppf(1 - alpha / 2, errors + 1, total - errors)
    return float(low), float(high)


MIN_SUBJECTS = 5


def min_impostors(target: float) -> int:
    """Dev impostor scores needed before an operating point at FMR = ``target`` is reported: 3 / target.

    With fewer, the threshold sits on one or two impostor scores and the rates measured there jump
    (an IAPMR of 2 % becomes 100 % when one score moves); such points are left empty (NaN).
    """
    return int(np.ceil(3.0 / target - 1e-9))


def operating_point(negatives, positives, target: float) -> tuple[float, str]:
    """The threshold at FMR <= ``target`` on (dev) scores, or NaN and the reason when unresolvable.

    Returns
    -------
    (threshold, reason)
        ``reason`` is "" when the point is reported.
    """
    neg = _scores(negatives, "negative")
    needed = min_impostors(target)
    if neg.size < needed:
        return float("nan"), (f"FMR {target:g} needs at least {needed} dev impostor scores (3 / FMR); "
                              f"only {neg.size}")
    return threshold_at_fmr(neg, positives, target), ""


@dataclass(frozen=True)
class Interval:
    """A 95 % (or other) interval: ``low``, ``high``, how it was made, and why it is NaN if it is."""

    low: float
    high: float
    method: str
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"low": self.low, "high": self.high, "method": self.method, "note": self.note}


def clopper_pearson_interval(errors: int, total: int, confidence: float = 0.95) -> Interval:
    """:func:`clopper_pearson` labelled for what it is: every comparison taken as independent."""
    low, high = clopper_pearson(errors, total, confidence)
    return Interval(low, high, "clopper-pearson per comparison (treats every comparison, e.g. every frame, "
                               "as independent: too narrow when frames of one video are correlated)")


Groups = Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]


def _clusters(groups: Groups) -> dict[object, dict[object, list[np.ndarray]]]:
    """subject -> video -> one index array per group (empty where the group lacks that video)."""
    table: dict[object, dict[object, list[np.ndarray]]] = {}
    for position, (_, subjects, videos) in enumerate(groups):
        subjects, videos = np.asarray(subjects), np.asarray(videos)
        for key in set(zip(subjects.tolist(), videos.tolist(), strict=True)):
            lists = table.setdefault(key[0], {}).setdefault(key[1], [np.zeros(0, np.int64)] * len(groups))
            lists[position] = np.flatnonzero((subjects == key[0]) & (videos == key[1]))
    return table


def _draw(table: dict, rng: np.random.Generator, n_groups: int) -> list[np.ndarray]:
    """One two-stage draw: subjects with replacement, then each drawn subject's videos with replacement."""
    subjects = list(table)
    picked: list[list[np.ndarray]] = [[] for _ in range(n_groups)]
    for s in rng.integers(0, len(subjects), len(subjects)):
        videos = list(table[subjects[s]].values())
        for v in rng.integers(0, len(videos), len(videos)):
            for group, index in enumerate(videos[v]):
                picked[group].append(index)
    return [np.concatenate(p) if p else np.zeros(0, np.int64) for p in picked]


def subject_bootstrap(
    statistic: Callable[..., float],
    groups: Groups,
    *,
    rounds: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_subjects: int = MIN_SUBJECTS,
) -> Interval:
    """Percentile bootstrap that resamples **subjects, then videos within them**, never single scores.

    Parameters
    ----------
    statistic : callable
        Called with one resampled score array per group and returns the figure. It must do the whole
        computation, threshold included: e.g. ``lambda dev_neg, dev_pos, att: iapmr(att,
        eer(dev_neg, dev_pos)[1])`` recomputes the dev threshold on every resample, so the interval
        carries the threshold's own uncertainty.
    groups : sequence of (scores, subjects, videos)
        Each group's scores (n,), the subject of each score (n,) and its video (n,). One draw
        (subjects with replacement from the union of all groups' subjects, then each drawn subject's
        videos with replacement) is applied to every group, so a subject's scores move together.
    rounds : int
        Bootstrap rounds; draws where a group ends up empty are redrawn (up to 10x ``rounds`` tries).
    min_subjects : int
        With fewer distinct subjects than this in any group, no interval is given (NaN and a note):
        a percentile interval over 2 subjects says nothing.
    """
    method = "subject+video bootstrap (percentile, statistic recomputed on each resample)"
    fewest = min(len(np.unique(np.asarray(subjects))) for _, subjects, _ in groups)
    if fewest < min_subjects:
        return Interval(float("nan"), float("nan"), method,
                        f"too few subjects for an interval: {fewest} < {min_subjects}")
    rng = np.random.default_rng(seed)
    table = _clusters(groups)
    values: list[float] = []
    for _ in range(rounds * 10):
        draw = _draw(table, rng, len(groups))
        if all(index.size for index in draw):
            values.append(statistic(*(np.asarray(scores)[index] for (scores, _, _), index in zip(groups, draw,
                                                                                                 strict=True))))
        if len(values) == rounds:
            break
    if not values:
        return Interval(float("nan"), float("nan"), method, "no resample kept every group non-empty")
    alpha = 1 - confidence
    return Interval(float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2)), method)
