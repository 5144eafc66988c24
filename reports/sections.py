"""Sections of the HTML report, each built from the files a run folder holds."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from swaplab.datasets.manifest import read_manifest  # noqa: E402
from swaplab.core.provenance import library_versions  # noqa: E402
from swaplab.core.media import iter_frames  # noqa: E402
from swaplab.reports.faces import contact_sheet, extraction_table  # noqa: E402
from swaplab.reports.fr_figures import draw_fr_run, save_figure  # noqa: E402

# Korshunov & Marcel (2018), DeepfakeTIMIT: FR systems' IAPMR on high-quality deepfakes.
PUBLISHED_IAPMR_HQ = {"FaceNet (published)": 0.9500, "VGG-Face (published)": 0.8562}


def png_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def figure_tag(fig: plt.Figure, folder: Path, name: str) -> str:
    """Save the figure under ``folder`` and return it inlined as an ``<img>``."""
    return png_tag(save_figure(fig, folder / f"{name}.png"), name)


def table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0, classes="t")


def extraction_section(run_dir: Path, figures: Path) -> tuple[str, pd.DataFrame]:
    manifests = sorted((run_dir / "faces").glob("*/faces.csv")) or sorted(run_dir.rglob("faces.csv"))
    tables, sheets = [], []
    for manifest in manifests:
        records = read_manifest(manifest)
        table = extraction_table(records)
        table.insert(0, "manifest", str(manifest.relative_to(run_dir)))
        tables.append(table)
        sheets.append(figure_tag(contact_sheet(records, manifest), figures, f"faces-{manifest.parent.name}"))
    summary = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return "<h2>Face extraction</h2>" + table_html(summary) + "".join(sheets), summary


def study_fr_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """The study's FR table: system x (licit EER, IAPMR per tier) at frame level, plus published figures."""
    frame = metrics[metrics.level == "frame"]
    rows = []
    for backend, part in frame.groupby("backend", sort=True):
        row = {"FR system": backend, "licit EER (dev)": part.dev_eer.iloc[0]}
        row.update({f"IAPMR {tier}": value for tier, value in zip(part.tier, part.iapmr, strict=True)})
        rows.append(row)
    rows += [{"FR system": name, "IAPMR hq": value} for name, value in PUBLISHED_IAPMR_HQ.items()]
    return pd.DataFrame(rows)


def fr_section(run_dir: Path) -> tuple[str, pd.DataFrame | None]:
    metrics_csv = run_dir / "fr" / "metrics.csv"
    if not metrics_csv.exists():
        return "", None
    metrics = pd.read_csv(metrics_csv)
    study = study_fr_table(metrics)
    drawn = draw_fr_run(run_dir / "fr")
    pictures = "".join(png_tag(p, p.stem) for p in sorted(drawn) if "-frame-" in p.name)
    body = ("<h2>Face-recognition vulnerability</h2><p>Thresholds are set on dev (licit EER) and applied "
            "to eval; IAPMR = share of deepfake comparisons accepted as the claimed person.</p>"
            + table_html(study) + "<h3>All figures (95 % Clopper-Pearson intervals)</h3>" + table_html(metrics)
            + pictures)
    return body, study


def quality_section(run_dir: Path, figures: Path) -> str:
    rows, grids = [], []
    for quality in sorted(run_dir.rglob("quality.json")):
        found = json.loads(quality.read_text())
        rows.append({"swap": str(quality.parent.relative_to(run_dir)), **found})
        grids.append(figure_tag(swap_grid(quality.parent), figures, "swap-" + quality.parent.name
                                + "-" + quality.parent.parent.name))
    if not rows:
        return ""
    return "<h2>Swaps</h2>" + table_html(pd.DataFrame(rows)) + "".join(grids)


def swap_grid(swap_dir: Path, count: int = 4) -> plt.Figure:
    """Rows of (original dst frame, swapped frame) at evenly spaced times."""
    video = next(swap_dir.glob("*.swapped.mp4"))
    config = json.loads((swap_dir / "swap_config.json").read_text())["config"]
    original = Path(config["dst"])
    total = len(read_manifest(swap_dir / "fakes" / "faces.csv"))
    picks = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
    pairs = [(a.image, b.image) for a, b in zip(iter_frames(original), iter_frames(video), strict=True)
             if a.index in picks]
    fig, axes = plt.subplots(len(pairs), 2, figsize=(7, 2.1 * len(pairs)), squeeze=False)
    for row, (before, after) in enumerate(pairs):
        for col, (image, title) in enumerate(((before, "dst (original)"), (after, "swapped (synthetic)"))):
            axes[row, col].imshow(image)
            axes[row, col].set_title(title, fontsize=7)
            axes[row, col].axis("off")
    fig.suptitle(f"{swap_dir.parent.name}: {swap_dir.name}", fontsize=9)
    fig.tight_layout()
    return fig


def training_section(run_dir: Path, figures: Path) -> str:
    logs = sorted(run_dir.rglob("model/losses.csv"))
    if not logs:
        return ""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for log in logs:
        frame = pd.read_csv(log)
        loss = (frame.src + frame.dst).rolling(20, min_periods=1).mean()
        ax.plot(frame.iteration, loss, label=str(log.parent.parent.relative_to(run_dir)))
    ax.set_xlabel("iteration")
    ax.set_ylabel("src + dst loss (running mean)")
    ax.legend(fontsize=7)
    previews = "".join(png_tag(log.parent / "preview.png", "preview") for log in logs
                       if (log.parent / "preview.png").exists())
    return ("<h2>Training</h2>" + figure_tag(fig, figures, "training-curves")
            + "<p>Previews (columns: src, src&rarr;src, dst, dst&rarr;dst, dst&rarr;src):</p>" + previews)


def run_manifest_section(run_dir: Path) -> str:
    configs = {str(p.relative_to(run_dir)): json.loads(p.read_text()).get("config")
               for p in sorted(run_dir.rglob("*_config.json")) if "report" not in p.parts}
    payload = {"libraries": library_versions(), "configs": configs}
    return "<h2>Run manifest</h2><pre>" + html.escape(json.dumps(payload, indent=1, default=str)) + "</pre>"


# Korshunov & Marcel (2018), DeepfakeTIMIT: IQM + SVM detection EER.
PUBLISHED_DETECTION = [{"detector": "IQM+SVM (published)", "test tier": "lq", "EER": 0.0333},
                       {"detector": "IQM+SVM (published)", "test tier": "hq", "EER": 0.0897}]


def study_detection_table(run_dir: Path) -> pd.DataFrame | None:
    """Detector x train tier x test tier: eval EER and FRR at FAR = 10 % (frame level), plus published EERs."""
    frames = [pd.read_csv(p) for p in sorted((run_dir / "detect").glob("*/metrics.csv"))]
    if not frames:
        return None
    table = pd.concat(frames, ignore_index=True)
    table = table[table.level == "frame"]
    rows = pd.DataFrame({"detector": table.detector, "train tier": table.train_tier, "test tier": table.tier,
                         "condition": table.condition, "EER": table.eval_eer, "HTER (dev thr.)": table.eval_hter,
                         "FRR@FAR10%": table.frr_at_far10, "AUC": table.auc})
    return pd.concat([rows, pd.DataFrame(PUBLISHED_DETECTION)], ignore_index=True)


def detection_section(run_dir: Path) -> tuple[str, pd.DataFrame | None]:
    table = study_detection_table(run_dir)
    if table is None:
        return "", None
    return ("<h2>Deepfake detection</h2><p>Identity-disjoint splits; threshold at the dev EER; "
            "frame level. Cross-condition rows test on the tier the detector did not train on.</p>"
            + table_html(table)), table
