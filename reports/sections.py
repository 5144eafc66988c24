"""Sections of the HTML report, each built from the files a run folder holds.

Each section returns its HTML and the :class:`~swaplab.reports.tables.Table` objects it shows, which
the report also writes as CSV and LaTeX. Metric columns are read only through
:mod:`swaplab.reports.columns`.
"""

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

from swaplab.core.errors import SwaplabError  # noqa: E402
from swaplab.core.media import iter_frames, read_image  # noqa: E402
from swaplab.core.provenance import library_versions  # noqa: E402
from swaplab.datasets.manifest import check_relative_path, faces_only, read_manifest  # noqa: E402
from swaplab.datasets.outputs import SWAPPED_SUFFIX, FROutput, StudyOutput, SwapOutput, TrainOutput  # noqa: E402
from swaplab.datasets.study_record import StudyRecord  # noqa: E402
from swaplab.reports import columns as C  # noqa: E402
from swaplab.reports import published  # noqa: E402
from swaplab.reports.faces import contact_sheet, extraction_table  # noqa: E402
from swaplab.reports.fr_figures import draw_fr_run, save_figure  # noqa: E402
from swaplab.reports.summary import headline  # noqa: E402
from swaplab.reports.tables import Table, to_html  # noqa: E402

Section = tuple[str, list[Table]]

# Legacy machine-readable tables (fr_table.csv, detection_table.csv): fractions, code names.
PUBLISHED_IAPMR_HQ = {"FaceNet (published)": published.IAPMR["FaceNet", "hq"],
                      "VGG-Face (published)": published.IAPMR["VGG-Face", "hq"]}
PUBLISHED_DETECTION = [{"detector": "IQM+SVM (published)", "test tier": tier, "EER (eval, oracle)": value}
                       for (name, tier), value in published.DETECTION_EER.items() if name == "IQM+SVM"]

SPLIT_TEXT = {
    "identity": "identity split: enrolled people alternate between dev and eval, a person's genuine and attack "
                "comparisons stay in one split",
    "video": "video split: each person's probe videos alternate between dev and eval",
    "segment": "segment split: the first half of each probe video's frames is dev, the second half eval "
               "(too few people or videos for an identity or video split; dev and eval share people)",
}
DETECTION_SPLIT = ("people split: a person's real faces and the fakes of the swap pairs they belong to stay in one "
                   "split where the data allow it (column 'Pair-disjoint split'); detectors train on train, thresholds "
                   "come from dev, figures from eval")
RATES_NOTE = "Rates in %, 95% Clopper-Pearson interval in brackets where computed; n/a: not computable."


def png_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def figure_html(png: Path, caption: str) -> str:
    """An embedded figure with a caption and links to its PNG and PDF files (relative to ``index.html``)."""
    links = " ".join(f'<a href="figures/{png.stem}.{ext}">{ext.upper()}</a>'
                     for ext in ("png", "pdf") if png.with_suffix(f".{ext}").exists())
    return (f"<figure>{png_tag(png, caption)}<figcaption>{html.escape(caption)} "
            f"<span class='files'>[{links}]</span></figcaption></figure>")


def figure_tag(fig: plt.Figure, folder: Path, name: str, caption: str = "") -> str:
    """Save the figure under ``folder`` (PNG and PDF) and return it inlined, with its caption."""
    return figure_html(save_figure(fig, folder / f"{name}.png"), caption or name)


# --- extraction ----------------------------------------------------------------------------------

def extraction_section(run_dir: Path, figures: Path) -> tuple[str, pd.DataFrame, list[Table]]:
    manifests = sorted((run_dir / "faces").glob("*/faces.csv")) or sorted(run_dir.rglob("faces.csv"))
    tables, sheets = [], []
    for manifest in manifests:
        records = read_manifest(manifest)
        table = extraction_table(records)
        table.insert(0, "manifest", str(manifest.relative_to(run_dir)))
        tables.append(table)
        sheets.append(figure_tag(contact_sheet(records, manifest), figures, f"faces-{manifest.parent.name}",
                                 f"Faces found in {manifest.relative_to(run_dir)} (evenly spaced frames)."))
    summary = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    shown = Table("extraction", "Face extraction: frames and faces found per video.",
                  C.readable(summary, C.EXTRACTION_COLUMNS))
    return "<h2>Face extraction</h2>" + to_html(shown) + "".join(sheets), summary, [shown]


# --- face recognition ----------------------------------------------------------------------------

def study_fr_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Machine-readable: system x (licit EER, IAPMR per tier) at frame level, plus published hq figures."""
    frame = metrics[metrics[C.FR_LEVEL.key] == "frame"]
    rows = []
    for backend, part in frame.groupby(C.FR_BACKEND.key, sort=True):
        row = {"FR system": backend, "licit EER (dev)": _value(part, C.FR_LICIT_EER.key).iloc[0]}
        row.update({f"IAPMR {tier}": value for tier, value in
                    zip(part[C.FR_TIER.key], part[C.FR_IAPMR.key], strict=True)})
        rows.append(row)
    rows += [{"FR system": name, "IAPMR hq": value} for name, value in PUBLISHED_IAPMR_HQ.items()]
    return pd.DataFrame(rows)


def noted(name: str, caption: str, shown: pd.DataFrame) -> Table:
    """A table whose cells' n/a reasons are footnotes in its caption (see :func:`columns.footnotes`)."""
    cells, notes = C.footnotes(shown)
    return Table(name, C.with_notes(caption, notes), cells, full=shown)


def fr_metrics(run_dir: Path) -> pd.DataFrame | None:
    """``fr/metrics.csv`` under today's column names, with the reasons ``metrics.json`` gives for NaN
    figures as ``<column>_reason`` columns; None when there is no FR run."""
    run = FROutput(run_dir / "fr")
    if not run.metrics_csv.exists():
        return None
    metrics = C.normalise(pd.read_csv(run.metrics_csv))
    if not run.metrics_json.exists():
        return metrics
    reasons = C.json_reasons(json.loads(run.metrics_json.read_text()))
    keys = ["backend", "level", "tier"]
    if reasons.empty or not set(keys) <= set(metrics.columns):
        return metrics
    metrics[keys] = metrics[keys].astype(str)
    return metrics.merge(reasons.astype({k: str for k in keys}), on=keys, how="left")


def _value(table: pd.DataFrame, key: str) -> pd.Series:
    return table[key] if key in table else pd.Series(np.nan, index=table.index)


def split_caption(fr_dir: Path) -> str:
    """What the dev/eval split was, from ``metrics.json``."""
    details = FROutput(fr_dir).metrics_json
    split = json.loads(details.read_text()).get(C.JSON_SPLIT) if details.exists() else None
    return SPLIT_TEXT.get(split, f"split: {split or 'not recorded'}")


def fr_tables(metrics: pd.DataFrame, split: str) -> list[Table]:
    """The headline FR table (headline level, published IAPMR beside ours) and the table of every level."""
    top = headline(metrics).sort_values([C.FR_BACKEND.key, C.FR_TIER.key])
    shown = C.readable(top, C.FR_COLUMNS)
    shown["Published IAPMR (DeepfakeTIMIT)"] = [
        C.percent(v, 2) if (v := published.published_iapmr(b, t)) is not None else "not published"
        for b, t in zip(top[C.FR_BACKEND.key], top[C.FR_TIER.key], strict=True)]
    level = top[C.FR_LEVEL.key].iloc[0] if C.FR_LEVEL.key in top and len(top) else "frame"
    every = metrics.sort_values([c.key for c in (C.FR_BACKEND, C.FR_LEVEL, C.FR_TIER) if c.key in metrics])
    return [noted("fr", f"Face-recognition vulnerability, {level} level: thresholds chosen on dev, rates on eval; "
                  f"{split}. {RATES_NOTE} Published figures: {published.SOURCE}.", shown),
            noted("fr_all_levels", f"Face-recognition vulnerability at every level; {split}. {RATES_NOTE}",
                  C.readable(every, (C.FR_LEVEL, *C.FR_COLUMNS)))]


def fr_section(run_dir: Path, figures: Path) -> tuple[str, pd.DataFrame | None, list[Table]]:
    fr_dir = run_dir / "fr"
    run = FROutput(fr_dir)
    metrics = fr_metrics(run_dir)
    if metrics is None:
        return "", None, []
    tables = fr_tables(metrics, split_caption(fr_dir))
    drawn = draw_fr_run(fr_dir, figures) if run.metrics_json.exists() else []
    ordered = sorted(drawn, key=lambda p: (p.stem.split("-", 1)[1], not p.name.startswith("vuln-")))
    pictures = "<div class='figs'>" + "".join(figure_html(p, _fr_caption(p)) for p in ordered
                                              if "-frame-" in p.name) + "</div>"
    body = ("<h2>Face-recognition vulnerability</h2><p>The licit threshold is the equal-error-rate threshold of "
            "genuine versus zero-effort impostor comparisons on dev; it is applied to eval. IAPMR is the share of "
            f"deepfake comparisons accepted as the claimed person. {html.escape(published.OUR_FACENET)}.</p>"
            + to_html(tables[0]) + _fr_figure_note(drawn) + pictures
            + every_level(tables[1]))
    return body, study_fr_table(metrics), tables


def _fr_caption(png: Path) -> str:
    if png.name.startswith("det-"):
        return f"Licit DET curve (eval) with the IAPMR at each operating threshold: {png.stem[4:]}."
    return (f"Eval score histograms with the licit threshold (dashed, chosen on dev); right axis: FMR, FNMR and "
            f"IAPMR over the threshold: {png.stem[5:]}.")


def _fr_figure_note(drawn: list[Path]) -> str:
    vuln = {p.stem[5:] for p in drawn if p.name.startswith("vuln-")}
    det = {p.stem[4:] for p in drawn if p.name.startswith("det-")}
    hidden = sorted(s for s in vuln - det if "-frame-" in s)
    if not hidden:
        return ""
    return ("<p>No DET curve for " + html.escape(", ".join(hidden)) + ": genuine and impostor scores separate "
            "completely there, so every threshold between them gives FMR = FNMR = 0.</p>")


# --- detection -----------------------------------------------------------------------------------

def detection_metrics(run_dir: Path) -> pd.DataFrame | None:
    """Every detector run's ``metrics.csv`` under ``run_dir/detect``, stacked; None when there is none."""
    frames = [C.normalise(pd.read_csv(p)) for p in sorted((run_dir / "detect").glob("*/metrics.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else None


def study_detection_table(table: pd.DataFrame) -> pd.DataFrame:
    """Machine-readable: detector x train tier x test tier at frame level (fractions), plus published EERs."""
    table = table[table[C.DET_LEVEL.key] == "frame"]
    columns = {"detector": C.DET_DETECTOR, "train tier": C.DET_TRAIN_TIER, "test tier": C.DET_TIER,
               "condition": C.DET_CONDITION, "HTER (dev thr.)": C.DET_HTER, "APCER (dev thr.)": C.DET_APCER,
               "BPCER (dev thr.)": C.DET_BPCER, "EER (eval, oracle)": C.DET_EER}
    rows = pd.DataFrame({name: _value(table, column.key) for name, column in columns.items()})
    rows["AUC"] = _value(table, "eval_auc")
    return pd.concat([rows, pd.DataFrame(PUBLISHED_DETECTION)], ignore_index=True)


def cross_condition(table: pd.DataFrame) -> list[bool]:
    """Per row: tested on a tier the detector did not train on."""
    if C.DET_CONDITION.key in table:
        return [c == "cross-condition" for c in table[C.DET_CONDITION.key]]
    if C.DET_TRAIN_TIER.key in table:
        pairs = zip(table[C.DET_TRAIN_TIER.key], table[C.DET_TIER.key], strict=True)
        return [trained not in ("all", tested) for trained, tested in pairs]
    return [False] * len(table)


def every_level(table: Table) -> str:
    """A long table folded away (``<details>``) under its caption."""
    return f"<details><summary>{html.escape(table.caption.split(';')[0])}</summary>{to_html(table)}</details>"


def detection_tables(table: pd.DataFrame) -> list[Table]:
    keys = [c.key for c in (C.DET_DETECTOR, C.DET_TRAIN_TIER, C.DET_TIER) if c.key in table]
    top = headline(table, C.DET_LEVEL.key, by=C.DET_DETECTOR.key).sort_values(keys)
    shown = C.readable(top, C.DETECTION_COLUMNS)
    shown["Published EER (DeepfakeTIMIT)"] = [
        C.percent(v, 2) if (v := published.published_detection_eer(d, t)) is not None and not cross else "not published"
        for d, t, cross in zip(top[C.DET_DETECTOR.key], top[C.DET_TIER.key], cross_condition(top), strict=True)]
    levels = list(dict.fromkeys(top[C.DET_LEVEL.key])) if C.DET_LEVEL.key in top else ["frame"]
    level = "frame level" if levels == ["frame"] else f"{', '.join(levels)} level (each detector's finest level)"
    every = table.sort_values([c.key for c in (C.DET_DETECTOR, C.DET_LEVEL, C.DET_TRAIN_TIER, C.DET_TIER)
                               if c.key in table])
    return [noted("detection", f"Deepfake detection, {level}: threshold chosen on dev, rates on eval; "
                  f"{DETECTION_SPLIT}. Rates in %. Published figures: {published.SOURCE}.", shown),
            noted("detection_all_levels", f"Deepfake detection at every level; {DETECTION_SPLIT}. Rates in %.",
                  C.readable(every, (C.DET_LEVEL, *C.DETECTION_COLUMNS)))]


def detection_section(run_dir: Path) -> tuple[str, pd.DataFrame | None, list[Table]]:
    table = detection_metrics(run_dir)
    if table is None:
        return "", None, []
    tables = detection_tables(table)
    return ("<h2>Deepfake detection</h2><p>HTER = (APCER + BPCER) / 2 at the threshold chosen on dev (the "
            "detection EER threshold), applied to eval. Cross-condition rows test on a tier the detector did "
            "not train on.</p>" + to_html(tables[0]) + every_level(tables[1])), \
        study_detection_table(table), tables


# --- swaps ---------------------------------------------------------------------------------------

def swap_output(swap_dir: Path) -> SwapOutput:
    """The :class:`SwapOutput` of a folder holding one ``<dst>.swapped.mp4``."""
    video = next(Path(swap_dir).glob(f"*{SWAPPED_SUFFIX}"))
    return SwapOutput(Path(swap_dir), video.name[: -len(SWAPPED_SUFFIX)])


def src_reference(swap: SwapOutput) -> tuple[np.ndarray | None, str]:
    """A face of the person pasted in (middle face of the training manifest) and their identity.

    ``(None, reason)`` when the training config or its manifest cannot be found.
    """
    config = json.loads(swap.config.read_text())["config"]
    train = TrainOutput(Path(config["model"])).config
    if not train.exists():
        return None, "training config not found"
    side = "src" if config.get("into", "src") == "src" else "dst"
    manifest = Path(json.loads(train.read_text())["config"][side])
    if not manifest.exists():
        return None, f"{manifest.name} not found"
    faces = faces_only(read_manifest(manifest))
    if not faces:
        return None, "no face in the training manifest"
    face = faces[len(faces) // 2]
    return read_image(check_relative_path(face.crop_path, manifest)), face.identity


def face_window(image: np.ndarray, bbox: tuple[float, float, float, float] | None, grow: float = 2.2) -> np.ndarray:
    """The square around ``bbox`` (``grow`` times its size, clipped to the frame); the whole frame without one."""
    if bbox is None:
        return image
    x0, y0, x1, y1 = bbox
    half = grow * max(x1 - x0, y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    top, left = int(max(0, cy - half)), int(max(0, cx - half))
    return image[top:int(min(image.shape[0], cy + half)), left:int(min(image.shape[1], cx + half))]


def swap_grid(swap_dir: Path, count: int = 4) -> plt.Figure:
    """Left: a face of the person pasted in; then dst frames (top) over swapped frames (bottom), around the face."""
    swap = swap_output(swap_dir)
    original = Path(json.loads(swap.config.read_text())["config"]["dst"])
    records = read_manifest(swap.fakes.manifest)
    boxes = {r.frame_index: r.bbox for r in records if r.has_face}
    picks = set(np.linspace(0, len(records) - 1, count).round().astype(int).tolist())
    pairs = [(a.index, face_window(a.image, boxes.get(a.index)), face_window(b.image, boxes.get(a.index)))
             for a, b in zip(iter_frames(original), iter_frames(swap.video), strict=False) if a.index in picks]
    fig, axes = plt.subplots(2, len(pairs) + 1, figsize=(2.0 * (len(pairs) + 1), 4.4), squeeze=False,
                             gridspec_kw={"width_ratios": [0.75] + [1] * len(pairs)})
    for axis in axes.flat:
        axis.axis("off")
    face, who = src_reference(swap)
    if face is not None:
        axes[0, 0].imshow(face)
        axes[0, 0].set_title(f"src (pasted in):\n{who}", fontsize=7)
    else:
        axes[0, 0].text(0.5, 0.5, f"src reference:\n{who}", ha="center", va="center", fontsize=7)
    for col, (index, before, after) in enumerate(pairs, start=1):
        axes[0, col].imshow(before)
        axes[0, col].set_title(f"dst frame {index}", fontsize=7)
        axes[1, col].imshow(after)
        axes[1, col].set_title(f"swapped {index} (synthetic)", fontsize=7)
    fig.suptitle(f"{swap_dir.parent.name}: {swap_dir.name}", fontsize=9)
    fig.tight_layout(h_pad=1.5)
    return fig


def _swap_name(run_dir: Path, swap_dir: Path) -> str:
    return " / ".join(swap_dir.relative_to(run_dir).parts)


def quality_line(found: dict) -> str:
    """One swap's quality figures as a line of text (for the figure caption)."""
    return "; ".join(f"{c.header}: {C.format_cell(found, c)}" for c in C.QUALITY_COLUMNS if c.key in found)


def quality_section(run_dir: Path, figures: Path) -> Section:
    rows, grids = [], []
    for quality in sorted(run_dir.rglob("quality.json")):
        found = json.loads(quality.read_text())
        name = _swap_name(run_dir, quality.parent)
        rows.append({"swap": name, **found})
        stem = "swap-" + "-".join(quality.parent.relative_to(run_dir).parts)
        png = save_figure(swap_grid(quality.parent), figures / f"{stem}.png")
        grids.append(figure_html(png, f"{name}. {quality_line(found)}."))
    if not rows:
        return "", []
    frame = pd.DataFrame(rows)
    shown = Table("swaps", "Swap quality per swapped video: FaceNet cosine similarity of swapped faces to the src "
                  "and dst templates, share of frames nearer src, pose error, flicker ratio.",
                  C.readable(frame, (C.Column("swap", "Swap", "text"), *C.QUALITY_COLUMNS)))
    return ("<h2>Swaps</h2><p>For each swap: a face of the person pasted in (src), the original dst frames and "
            "the swapped frames, with the swap's quality figures under it.</p>" + to_html(shown)
            + "".join(grids)), [shown]


# --- study record (study.json) ------------------------------------------------------------------

ROLE_ORDER = {"enrol": 0, "train": 1, "probe": 2}


def seconds_range(start: float | None, end: float | None) -> str:
    """A segment's time range in seconds, ``0.0–4.0``; ``whole video`` when it has none."""
    if start is None and end is None:
        return "whole video"
    first = 0.0 if start is None else start
    last = "end" if end is None else f"{end:.1f}"
    return f"{first:.1f}–{last}"


def segments_table(record: StudyRecord) -> Table:
    """One row per segment the build used: identity, role, time range, source video."""
    uses = sorted(record.segments, key=lambda u: (u.identity, ROLE_ORDER.get(u.role, 3), u.start or 0.0, u.video))
    frame = pd.DataFrame([{"Identity": u.identity, "Role": u.role, "Segment": u.name,
                           "Seconds": seconds_range(u.start, u.end), "Source video": u.video} for u in uses],
                         columns=["Identity", "Role", "Segment", "Seconds", "Source video"])
    ordered = sorted(record.roles, key=lambda role: ROLE_ORDER.get(role, 3))
    roles = "; ".join(f"{role}: {record.roles[role]}" for role in ordered)
    return Table("study_segments", "Segments of each person and what the study used them for (start–end in "
                 "seconds of the source video; no frame serves two roles)" + (f". Roles: {roles}." if roles else "."),
                 frame)


def chains_table(record: StudyRecord) -> Table:
    """One row per kind of face: the processing it went through, step by step."""
    frame = pd.DataFrame([{"Faces": kind.replace("_", " "), "Processing chain": " → ".join(steps)}
                          for kind, steps in record.chains.items()], columns=["Faces", "Processing chain"])
    return Table("study_chains", "Encoding and processing chain of each kind of face, from the source video.", frame)


def swap_counts_table(record: StudyRecord) -> Table:
    """Per tier: swaps made, failed (left out of the attack set) and kept as attacks."""
    tiers = sorted({s.tier for s in record.swaps})
    frame = pd.DataFrame([{"Tier": tier, "Swaps": sum(s.tier == tier for s in record.swaps),
                           "Failed (excluded)": sum(s.tier == tier and s.failed for s in record.swaps),
                           "Kept as attacks": sum(s.tier == tier and not s.failed for s in record.swaps)}
                          for tier in tiers], columns=["Tier", "Swaps", "Failed (excluded)", "Kept as attacks"])
    return Table("study_swaps", f"Swapped probe segments per tier; {record.failed_count} failed swap(s) left out "
                 f"of the attack set. Rule: {record.failed_rule}.", frame)


def failed_swaps_table(record: StudyRecord) -> Table:
    """Every failed swap: who over whom, its figures and why it failed."""
    frame = pd.DataFrame([{"Tier": s.tier, "Claimed (shown)": s.claimed, "Filmed": s.filmed, "Probe": s.probe,
                           "Face change (0-255)": f"{s.face_change:.1f}",
                           "Similarity to dst": f"{s.similarity_to_dst:.3f}", "Why": s.reason}
                          for s in record.failed],
                         columns=["Tier", "Claimed (shown)", "Filmed", "Probe", "Face change (0-255)",
                                  "Similarity to dst", "Why"])
    return Table("study_failed_swaps", "Failed swaps, left out of the attack set.", frame)


def study_section(run_dir: Path) -> Section:
    """What the build made and how, from ``study.json`` (read by :class:`StudyRecord`); empty without one."""
    path = StudyOutput(Path(run_dir)).record
    if not path.exists():
        return "", []
    try:
        record = StudyRecord.from_file(path)
    except SwaplabError as err:
        return f"<h2>Study design</h2><p>{html.escape(str(err))}</p>", []
    tables = [segments_table(record), chains_table(record), swap_counts_table(record)]
    if record.failed:
        tables.append(failed_swaps_table(record))
    return ("<h2>Study design</h2><p>From <code>study.json</code>: the segments of each person and their roles, "
            "the processing chain of each kind of face, and the swaps left out by the failed-swap rule.</p>"
            + "".join(to_html(t) for t in tables)), tables


# --- training and provenance ---------------------------------------------------------------------

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
    return ("<h2>Training</h2>" + figure_tag(fig, figures, "training-curves", "Training loss of each swap model.")
            + "<p>Previews (columns: src, src&rarr;src, dst, dst&rarr;dst, dst&rarr;src):</p>" + previews)


def run_manifest_section(run_dir: Path) -> str:
    configs = {str(p.relative_to(run_dir)): json.loads(p.read_text()).get("config")
               for p in sorted(run_dir.rglob("*_config.json")) if "report" not in p.parts}
    payload = {"libraries": library_versions(), "configs": configs}
    return "<h2>Run manifest</h2><pre>" + html.escape(json.dumps(payload, indent=1, default=str)) + "</pre>"
