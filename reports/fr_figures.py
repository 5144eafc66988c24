"""FR vulnerability figures: score histograms with thresholds, DET curves on probit axes."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from swaplab.core import metrics  # noqa: E402
from swaplab.core.fileio import atomic_path  # noqa: E402
from swaplab.evaluate.fr import SCORE_TABLE  # noqa: E402

PALETTE = {"genuine": "#2b8a3e", "zei": "#1c7ed6", "attack": "#e03131"}
LABELS = {"genuine": "genuine", "zei": "zero-effort impostor", "attack": "deepfake attack"}


def save_figure(fig: plt.Figure, target: Path) -> Path:
    """Write a figure as PNG atomically and close it."""
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return target


def score_histogram(scores: pd.DataFrame, found: dict, title: str) -> plt.Figure:
    """Eval-split score densities of genuine, impostor and attack comparisons, thresholds drawn."""
    tier = found["tier"]
    data = scores[(scores.split == "eval") & ((scores.kind != "attack") | (scores.tier == tier))]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sns.histplot(data=data, x="score", hue="kind", palette=PALETTE, stat="density", common_norm=False,
                 element="step", bins=40, ax=ax, hue_order=[k for k in PALETTE if k in set(data.kind)])
    ax.axvline(found["threshold"], color="k", ls="--", lw=1,
               label=f"EER threshold (IAPMR {found['iapmr']['value']:.1%})")
    ax.axvline(found["fmr0.01"]["threshold"], color="0.4", ls=":", lw=1, label="FMR = 1 % threshold")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("score (cosine similarity; higher = more genuine)")
    handles, names = ax.get_legend_handles_labels()
    legend = ax.get_legend()
    kinds = [t.get_text() for t in legend.get_texts()] if legend else []
    ax.legend(list(legend.legend_handles if legend else []) + handles,
              [LABELS.get(k, k) for k in kinds] + names, fontsize=7)
    return fig


def det_curve(scores: pd.DataFrame, found: dict, title: str) -> plt.Figure:
    """Licit DET curve (eval) on probit axes, with the IAPMR at each threshold marked."""
    ev = scores[scores.split == "eval"]
    fmr, fnmr = metrics.det(ev[ev.kind == "zei"].score, ev[ev.kind == "genuine"].score)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot(metrics.probit(fmr), metrics.probit(fnmr), color=PALETTE["zei"], label="licit (genuine vs impostor)")
    points = [("EER thr.", found["threshold"], found["iapmr"]["value"])]
    points += [(f"FMR {t:.1%} thr.", found[f"fmr{t:g}"]["threshold"], found[f"fmr{t:g}"]["iapmr"]["value"])
               for t in (0.01, 0.001)]
    for row, (name, threshold, rate) in enumerate(points):
        at_fmr, at_fnmr = metrics.fmr_fnmr(ev[ev.kind == "zei"].score, ev[ev.kind == "genuine"].score, threshold)
        ax.plot(metrics.probit(np.array([at_fmr])), metrics.probit(np.array([at_fnmr])), "o", color=PALETTE["attack"])
        ax.annotate(f"{name}\nIAPMR {rate:.1%}", (metrics.probit(np.array([at_fmr]))[0],
                    metrics.probit(np.array([at_fnmr]))[0]), fontsize=6, xytext=(6, 4 + 18 * row),
                    textcoords="offset points")
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
    """Histogram and DET figure for one backend x level x tier; returns the PNG paths."""
    return [save_figure(score_histogram(scores, found, stem), folder / f"hist-{stem}.png"),
            save_figure(det_curve(scores, found, stem), folder / f"det-{stem}.png")]


def draw_fr_run(fr_dir: Path) -> list[Path]:
    """Every figure of an FR protocol run, drawn from its score tables and ``metrics.json``.

    ``fr_dir`` is the ``out`` of :func:`swaplab.evaluate.fr.run`: ``scores/<backend>/<level>/scores.csv``
    holds the score table and ``metrics.json`` the thresholds and rates of each scenario.
    """
    details = json.loads((Path(fr_dir) / "metrics.json").read_text())
    drawn = []
    for found in details["results"]:
        backend, level = found["backend"], found["level"]
        scores = pd.read_csv(Path(fr_dir) / "scores" / backend / level / SCORE_TABLE, keep_default_na=False)
        drawn += draw_fr_figures(scores, found, Path(fr_dir) / "figures", f"{backend}-{level}-{found['tier']}")
    return drawn
