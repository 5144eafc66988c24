"""FR vulnerability figures, drawn from the score tables of ``evaluate fr`` as the study draws them.

* the vulnerability figure (bob.pad's ``vuln_hist`` with the IAPMR line): densities of genuine,
  zero-effort impostor and attack scores on eval, the licit threshold chosen on dev, and on a
  second axis FMR, FNMR and IAPMR as curves over the threshold;
* the licit DET curve on probit axes, only where it has something to show: when genuine and
  impostor scores separate completely every threshold between them gives FMR = FNMR = 0 and the
  curve is a single corner point.

Every figure is written as PNG (for the page) and PDF (for papers).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from swaplab.core import metrics  # noqa: E402
from swaplab.core.fileio import atomic_path  # noqa: E402
from swaplab.datasets.outputs import FROutput  # noqa: E402
from swaplab.reports import columns as C  # noqa: E402

PALETTE = {"genuine": "#2b8a3e", "zei": "#1c7ed6", "attack": "#e03131"}
LABELS = {"genuine": "genuine", "zei": "zero-effort impostor", "attack": "deepfake attack"}
FIGURE_FORMATS = ("png", "pdf")


def save_figure(fig: plt.Figure, target: Path) -> Path:
    """Write a figure as PNG and PDF (same stem) atomically, close it, return the PNG path."""
    target = Path(target).with_suffix(".png")
    for fmt in FIGURE_FORMATS:
        with atomic_path(target.with_suffix(f".{fmt}")) as tmp:
            fig.savefig(tmp, format=fmt, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return target


def eval_scores(scores: pd.DataFrame, tier: str) -> dict[str, np.ndarray]:
    """Eval-split scores per kind (genuine, zei, attack of ``tier``); kinds without scores are left out."""
    ev = scores[scores.split == "eval"]
    parts = {kind: ev[(ev.kind == kind) & ((kind != "attack") | (ev.tier == tier))].score.to_numpy(float)
             for kind in PALETTE}
    return {kind: values for kind, values in parts.items() if values.size}


def accept_rates(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Share of ``values`` at or above each threshold (accepted as genuine), shape of ``thresholds``."""
    ordered = np.sort(values)
    return 1.0 - np.searchsorted(ordered, thresholds, side="left") / ordered.size


def scores_separate(negatives: np.ndarray, positives: np.ndarray) -> bool:
    """True when every positive (genuine) score is above every negative (impostor) score."""
    return bool(len(negatives) and len(positives) and np.min(positives) > np.max(negatives))


def _histograms(ax: plt.Axes, parts: dict[str, np.ndarray], bins: np.ndarray) -> None:
    for kind, values in parts.items():
        ax.hist(values, bins=bins, density=True, histtype="stepfilled", alpha=0.35, color=PALETTE[kind],
                edgecolor=PALETTE[kind], label=f"{LABELS[kind]} ({values.size})")
    ax.set_ylabel("density")
    ax.set_xlabel("score (similarity to the claimed template; higher = more genuine)")


def _rate_curves(ax: plt.Axes, parts: dict[str, np.ndarray], grid: np.ndarray) -> None:
    curves = (("zei", "FMR", "--", lambda v: accept_rates(v, grid)),
              ("genuine", "FNMR", ":", lambda v: 1.0 - accept_rates(v, grid)),
              ("attack", "IAPMR", "-", lambda v: accept_rates(v, grid)))
    for kind, name, style, rate in curves:
        if kind in parts:
            ax.plot(grid, 100 * rate(parts[kind]), style, color=PALETTE[kind], lw=1.6, label=name)
    ax.set_ylim(-2, 102)
    ax.set_ylabel("error rate (%)")


def vulnerability_figure(scores: pd.DataFrame, found: dict, title: str) -> plt.Figure:
    """Eval score histograms, the licit threshold, and FMR / FNMR / IAPMR over the threshold (right axis)."""
    parts = eval_scores(scores, found["tier"])
    threshold = found.get(C.JSON_THRESHOLD)
    everything = np.concatenate(list(parts.values()) + ([np.array([threshold])] if threshold is not None else []))
    low, high = float(everything.min()), float(everything.max())
    pad = 0.05 * (high - low or 1.0)
    bins = np.linspace(low - pad, high + pad, 41)
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    _histograms(ax, parts, bins)
    rates = ax.twinx()
    _rate_curves(rates, parts, np.linspace(low - pad, high + pad, 400))
    if threshold is not None:
        at = accept_rates(parts["attack"], np.array([threshold]))[0] if "attack" in parts else float("nan")
        ax.axvline(threshold, color="k", ls="--", lw=1)
        ax.annotate(f"licit EER threshold (dev)\nIAPMR {C.percent(at)}", (threshold, 0.97),
                    xycoords=("data", "axes fraction"),
                    xytext=(4, 0), textcoords="offset points", fontsize=7, va="top")
    handles = ax.get_legend_handles_labels()
    curve_handles = rates.get_legend_handles_labels()
    ax.legend(handles[0] + curve_handles[0], handles[1] + curve_handles[1], fontsize=7, loc="center left",
              bbox_to_anchor=(1.1, 0.5), frameon=False)
    ax.set_title(title, fontsize=9)
    return fig


def _operating_points(found: dict) -> list[tuple[str, float, float]]:
    """(label, threshold, IAPMR) of the licit-EER threshold and of each FMR target ``found`` resolves."""
    points = []
    if found.get(C.JSON_THRESHOLD) is not None:
        points.append(("EER thr.", found[C.JSON_THRESHOLD], found.get("iapmr", {}).get("value", np.nan)))
    targets = found.get(C.JSON_OPERATING_POINTS) or {}
    for at in targets.values():
        if at.get("threshold") is not None and np.isfinite(at["threshold"]) and not at.get("reason"):
            points.append((f"FMR {at.get('target_fmr', np.nan):.1%} thr.", at["threshold"], at.get("iapmr", np.nan)))
    return points


def det_curve(scores: pd.DataFrame, found: dict, title: str) -> plt.Figure:
    """Licit DET curve (eval) on probit axes, with the IAPMR at each operating threshold marked."""
    parts = eval_scores(scores, found["tier"])
    fmr, fnmr = metrics.det(parts["zei"], parts["genuine"])
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot(metrics.probit(fmr), metrics.probit(fnmr), color=PALETTE["zei"], label="licit (genuine vs impostor)")
    for row, (name, threshold, rate) in enumerate(_operating_points(found)):
        at_fmr, at_fnmr = metrics.fmr_fnmr(parts["zei"], parts["genuine"], threshold)
        x, y = metrics.probit(np.array([at_fmr]))[0], metrics.probit(np.array([at_fnmr]))[0]
        ax.plot([x], [y], "o", color=PALETTE["attack"])
        label = f"IAPMR {C.percent(rate)}" if np.isfinite(rate) else "IAPMR n/a"
        ax.annotate(f"{name}\n{label}", (x, y), fontsize=6, xytext=(6, 4 + 18 * row), textcoords="offset points")
    ticks = np.array([0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95])
    ax.set_xticks(metrics.probit(ticks), [f"{t:.1%}" for t in ticks], fontsize=6)
    ax.set_yticks(metrics.probit(ticks), [f"{t:.1%}" for t in ticks], fontsize=6)
    ax.set_xlabel("FMR")
    ax.set_ylabel("FNMR")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def draw_fr_figures(scores: pd.DataFrame, found: dict, folder: Path, stem: str) -> list[Path]:
    """The vulnerability figure of one backend x level x tier, and its DET curve where it has something
    to show (genuine and impostor scores overlap); returns the PNG paths (a PDF lies beside each)."""
    title = f"{C.display_name(found.get('backend', ''))}, {found.get('level', '')} level, {found['tier']} deepfakes"
    drawn = [save_figure(vulnerability_figure(scores, found, title), folder / f"vuln-{stem}.png")]
    parts = eval_scores(scores, found["tier"])
    if "zei" in parts and "genuine" in parts and not scores_separate(parts["zei"], parts["genuine"]):
        drawn.append(save_figure(det_curve(scores, found, title), folder / f"det-{stem}.png"))
    return drawn


def draw_fr_run(fr_dir: Path, folder: Path | None = None) -> list[Path]:
    """Every figure of an FR protocol run, drawn from its score tables and ``metrics.json``.

    ``fr_dir`` is the ``out`` of :func:`swaplab.evaluate.fr.run` (see
    :class:`swaplab.datasets.outputs.FROutput`); figures go to ``folder`` (default: its ``figures``).
    """
    run = FROutput(Path(fr_dir))
    details = json.loads(run.metrics_json.read_text())
    folder = run.figures if folder is None else Path(folder)
    drawn = []
    for found in details.get(C.JSON_RESULTS, []):
        backend, level = found["backend"], found["level"]
        scores = pd.read_csv(run.score_table(backend, level), keep_default_na=False)
        drawn += draw_fr_figures(scores, found, folder, f"{backend}-{level}-{found['tier']}")
    return drawn
