import numpy as np
import pytest
from sklearn.metrics import roc_curve

from swaplab.core import metrics as m

NEG = np.array([0.1, 0.2, 0.3, 0.4, 0.6])  # impostors
POS = np.array([0.5, 0.7, 0.8, 0.9, 0.95])  # genuine


def test_fmr_fnmr_by_hand() -> None:
    assert m.fmr_fnmr(NEG, POS, 0.5) == (0.2, 0.0)  # 0.6 accepted; 0.5 >= 0.5 accepted
    assert m.fmr_fnmr(NEG, POS, 0.65) == (0.0, 0.2)
    assert m.fmr_fnmr(NEG, POS, 0.0) == (1.0, 0.0)


def test_eer_by_hand() -> None:
    value, threshold = m.eer(NEG, POS)
    # at 0.55, midway between 0.5 and 0.6: impostor 0.6 accepted (FMR 1/5), genuine 0.5 rejected (FNMR 1/5)
    assert threshold == pytest.approx(0.55) and value == pytest.approx(0.2)
    assert m.fmr_fnmr(NEG, POS, threshold) == pytest.approx((0.2, 0.2))
    # unequal rates: the EER is their mean at the closest threshold
    value, threshold = m.eer([0.1, 0.2, 0.6], [0.5, 0.7, 0.8, 0.9])
    assert threshold == pytest.approx(0.55) and value == pytest.approx((1 / 3 + 1 / 4) / 2)
    # separable classes: the threshold sits in the middle of the gap
    assert m.eer([0.1, 0.25], [0.95, 0.97]) == (0.0, pytest.approx(0.6))
    assert m.eer([0.1, 0.2], [0.8, 0.9])[0] == 0.0
    assert m.eer([0.8, 0.9], [0.1, 0.2])[0] == 1.0


def test_threshold_at_fmr_and_fnmr_there() -> None:
    threshold = m.threshold_at_fmr(NEG, POS, 0.0)
    assert 0.6 < threshold <= 0.7 and m.fmr_fnmr(NEG, POS, threshold)[0] == 0.0
    fnmr, at = m.fnmr_at_fmr(NEG, POS, 0.2)
    assert at == pytest.approx(0.45) and fnmr == 0.0


def test_hter_uses_the_dev_threshold() -> None:
    value, threshold = m.hter([0.1, 0.2], [0.8, 0.9], [0.1, 0.85], [0.5, 0.9])
    assert threshold == pytest.approx(0.5)  # the middle of dev's gap between 0.2 and 0.8
    assert value == pytest.approx((0.5 + 0.0) / 2)  # eval: impostor 0.85 accepted, genuine 0.5 kept


def test_det_and_roc_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    neg, pos = rng.normal(0, 1, 300), rng.normal(1.5, 1, 200)
    fmr, fnmr = m.det(neg, pos)
    labels = np.r_[np.zeros(300), np.ones(200)]
    fpr, tpr, thr = roc_curve(labels, np.r_[neg, pos], drop_intermediate=False)
    for f, t, th in zip(fpr[1:], tpr[1:], thr[1:], strict=True):
        assert m.fmr_fnmr(neg, pos, th) == pytest.approx((f, 1 - t))
    assert set(np.round(fpr, 12)) <= set(np.round(fmr, 12))
    assert m.auc(neg, pos) == pytest.approx(np.trapezoid(tpr, fpr))
    r_fmr, r_tmr, _ = m.roc(neg, pos)
    np.testing.assert_allclose(r_fmr, fpr)
    np.testing.assert_allclose(r_tmr, tpr)


def test_presentation_attack_metrics_by_hand() -> None:
    attacks = np.array([0.9, 0.8, 0.7, 0.3])  # detector: higher = more fake
    bona = np.array([0.1, 0.2, 0.4, 0.75])
    assert m.apcer_bpcer(attacks, bona, 0.5) == (0.25, 0.25)
    eer, threshold = m.detection_eer(attacks, bona)
    assert eer == 0.25 and m.apcer_bpcer(attacks, bona, threshold) == (0.25, 0.25)
    bpcer, thr = m.bpcer_at_apcer(attacks, bona, 0.0)
    assert bpcer == 0.5 and thr == pytest.approx(0.25)  # highest threshold missing no attack; 0.4, 0.75 flagged
    assert m.bpcer_at_apcer(attacks, bona, 0.25) == (0.25, pytest.approx(0.55))
    assert m.iapmr([0.2, 0.6, 0.9], 0.5) == pytest.approx(2 / 3)
    hter, _ = m.detection_hter(attacks, bona, attacks, bona)
    assert hter == 0.25


def test_intervals() -> None:
    low, high = m.clopper_pearson(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))  # exact for zero errors
    low, high = m.clopper_pearson(5, 10)
    assert low == pytest.approx(0.187086, abs=1e-5) and high == pytest.approx(0.812914, abs=1e-5)
    low, high = m.wilson_interval(5, 10)
    assert low == pytest.approx(0.236593, abs=1e-5) and high == pytest.approx(0.763407, abs=1e-5)


def test_subject_bootstrap_resamples_subjects_together() -> None:
    rng = np.random.default_rng(1)
    subjects = np.repeat(np.arange(8), 20)
    videos = np.tile(np.repeat(np.arange(4), 5), 8)  # 4 videos of 5 frames per subject
    neg = rng.normal(0, 1, 160) + (subjects % 2) * 0.5  # subject effects
    pos = rng.normal(2, 1, 160)
    found = m.subject_bootstrap(lambda a, b: m.eer(a, b)[0], [(neg, subjects, videos), (pos, subjects, videos)],
                                rounds=200)
    point = m.eer(neg, pos)[0]
    assert found.low <= point <= found.high and found.high - found.low > 0.01 and not found.note


def test_subject_bootstrap_gives_no_interval_for_too_few_subjects() -> None:
    # before: two subjects gave a collapsed interval (point, point) that looked exact
    rng = np.random.default_rng(1)
    two = np.repeat([0, 1], 80)
    neg, pos = rng.normal(0, 1, 160), rng.normal(2, 1, 160)
    found = m.subject_bootstrap(lambda a, b: m.eer(a, b)[0], [(neg, two, two), (pos, two, two)], rounds=20)
    assert np.isnan(found.low) and np.isnan(found.high) and "too few subjects" in found.note


def test_bootstrap_recomputes_the_threshold_on_each_resample() -> None:
    # every attack scores 0.5; the dev threshold lies near 0.5 and moves with the dev subjects drawn.
    # With the threshold held fixed every resample gives the same IAPMR and the interval collapses.
    rng = np.random.default_rng(3)
    subjects = np.repeat(np.arange(10), 10)
    videos = np.tile(np.repeat(np.arange(2), 5), 10)
    dev_neg = rng.normal(0.3, 0.1, 100) + (subjects - 4.5) * 0.02
    dev_pos = rng.normal(0.7, 0.1, 100) + (subjects - 4.5) * 0.02
    attacks = np.full(100, 0.5)
    threshold = m.eer(dev_neg, dev_pos)[1]
    groups = [(dev_neg, subjects, videos), (dev_pos, subjects, videos), (attacks, subjects, videos)]
    fixed = m.subject_bootstrap(lambda n, p, a: m.iapmr(a, threshold), groups, rounds=200)
    assert fixed.low == fixed.high  # the old way: no uncertainty at all
    moving = m.subject_bootstrap(lambda n, p, a: m.iapmr(a, m.eer(n, p)[1]), groups, rounds=200)
    assert moving.low == 0.0 and moving.high == 1.0


def test_operating_points_need_3_over_fmr_impostors() -> None:
    assert m.min_impostors(0.01) == 300 and m.min_impostors(0.001) == 3000
    rng = np.random.default_rng(0)
    threshold, reason = m.operating_point(rng.normal(0, 1, 299), rng.normal(2, 1, 50), 0.01)
    assert np.isnan(threshold) and "at least 300" in reason and "only 299" in reason
    neg = rng.normal(0, 1, 300)
    threshold, reason = m.operating_point(neg, rng.normal(2, 1, 50), 0.01)
    assert reason == "" and m.fmr_fnmr(neg, [3.0], threshold)[0] <= 0.01


def test_clopper_pearson_interval_is_labelled_per_comparison() -> None:
    found = m.clopper_pearson_interval(5, 10)
    assert (found.low, found.high) == m.clopper_pearson(5, 10) and "per comparison" in found.method


def test_empty_or_nan_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="no negative scores"):
        m.eer([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        m.eer([np.nan], [1.0])
