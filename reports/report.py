"""Stage ``report``: one self-contained HTML page (figures embedded), and every table and figure as
files for papers: ``tables/*.csv`` and ``tables/*.tex`` (booktabs), ``figures/*.png`` and
``figures/*.pdf``, listed in ``README.txt``."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import write_text_atomic
from swaplab.reports import columns as C
from swaplab.reports import published, sections
from swaplab.reports.summary import summary_sentences
from swaplab.reports.tables import Table, to_html, write_table

STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;box-sizing:border-box}"
    "table.t{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em;width:100%;table-layout:auto}"
    "table.t td,table.t th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;overflow-wrap:break-word}"
    "table.t th{background:#f1f3f5;text-align:left;font-weight:600}"
    "table.t tbody tr:nth-child(even){background:#fafafa}"
    "caption{caption-side:top;text-align:left;font-size:12px;color:#333;padding:4px 0}"
    "figure{margin:1em 0}figcaption{font-size:12px;color:#333;max-width:100%}"
    ".figs{display:flex;flex-wrap:wrap;gap:0 1em}.figs figure{flex:1 1 560px;min-width:0}"
    "img{max-width:calc(100% - 8px);height:auto;margin:4px}"
    ".files{color:#666;white-space:nowrap}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:11px;background:#f8f9fa;padding:0.5em}"
    ".banner{background:#fff3bf;padding:0.5em;border:1px solid #f08c00}"
    "#summary{background:#e7f5ff;border:1px solid #74c0fc;padding:0.5em 1em}"
    "#summary li{margin:0.3em 0}details{margin:0.5em 0 1.5em}summary{cursor:pointer;font-weight:600}"
)
README = "README.txt"


@dataclass(frozen=True)
class ReportConfig:
    """Settings of ``swaplab report``: the run folder to describe."""

    run_dir: Path


def summary_html(sentences: list[str]) -> str:
    """The 'What was found' box at the top of the page."""
    if not sentences:
        return ("<section id='summary'><h2>What was found</h2><p>No FR or detection metrics in this folder "
                "(run <code>swaplab study run</code> or <code>swaplab evaluate fr</code>).</p></section>")
    items = "".join(f"<li class='finding'>{html.escape(s)}</li>" for s in sentences)
    return (f"<section id='summary'><h2>What was found</h2><ul>{items}</ul><p>Published figures: "
            f"{html.escape(published.SOURCE)}. {html.escape(published.OUR_FACENET)}.</p></section>")


def published_section() -> tuple[str, Table]:
    table = Table("published", f"Published figures: {published.SOURCE}. n/a: not reported.",
                  C.readable(published.published_table(), C.PUBLISHED_COLUMNS))
    return "<h2>Published figures</h2>" + to_html(table), table


def readme(out: Path) -> str:
    """``README.txt``: every file of the report folder, with what it is."""
    lines = ["swaplab report: files", "",
             "index.html  the report (figures embedded; open in a browser)",
             "tables/*.csv  every table of the page, cells as printed (percent, 95% interval in brackets)",
             "tables/*.tex  the same tables as LaTeX (\\usepackage{booktabs,array}; \\input{tables/NAME.tex})",
             "figures/*.png, figures/*.pdf  every figure, raster and vector",
             "fr_table.csv, detection_table.csv (+ .md)  machine-readable headline figures (fractions, code names)",
             "extraction.csv  faces found per video (machine-readable)", "", "Files:"]
    lines += [f"  {p.relative_to(out).as_posix()}" for p in sorted(out.rglob("*"))
              if p.is_file() and p.name != README and not p.name.startswith(".")]
    return "\n".join(lines) + "\n"


def _write_legacy(out: Path, name: str, frame: pd.DataFrame | None) -> None:
    if frame is not None:
        write_text_atomic(out / f"{name}.csv", frame.to_csv(index=False))
        write_text_atomic(out / f"{name}.md", frame.to_markdown(index=False, floatfmt=".4f"))


def run(config: ReportConfig) -> Path:
    """Write ``report/index.html``, its tables and figures for everything found in ``run_dir``; return the page."""
    run_dir = Path(config.run_dir)
    if not any(run_dir.rglob("faces.csv")):
        raise SwaplabError(f"{run_dir}: no face manifest (faces.csv) found to report on")
    out = run_dir / "report"
    figures = out / "figures"
    fr_html, fr_legacy, fr_tables = sections.fr_section(run_dir, figures)
    detection_html, detection_legacy, detection_tables = sections.detection_section(run_dir)
    quality_html, quality_tables = sections.quality_section(run_dir, figures)
    study_html, study_tables = sections.study_section(run_dir)
    extraction, extracted, extraction_tables = sections.extraction_section(run_dir, figures)
    published_html, published_table = published_section()
    sentences = summary_sentences(sections.fr_metrics(run_dir), sections.detection_metrics(run_dir))
    for table in [*fr_tables, *detection_tables, *study_tables, *quality_tables, *extraction_tables, published_table]:
        write_table(table, out)
    write_text_atomic(out / "extraction.csv", extracted.to_csv(index=False))
    _write_legacy(out, "fr_table", fr_legacy)
    _write_legacy(out, "detection_table", detection_legacy)
    body = (summary_html(sentences) + fr_html + detection_html + published_html + study_html + quality_html
            + sections.training_section(run_dir, figures) + extraction + sections.run_manifest_section(run_dir))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>swaplab report</title><style>{STYLE}</style>"
            "</head><body><h1>swaplab report</h1><p class='banner'>Every swapped face shown here is synthetic, "
            "made by swaplab to measure forgery.</p><p>Tables and figures for papers: see <code>README.txt</code>, "
            "<code>tables/</code> (CSV, LaTeX) and <code>figures/</code> (PNG, PDF) beside this page.</p>"
            + body + "</body></html>")
    target = out / "index.html"
    write_text_atomic(target, page)
    write_text_atomic(out / README, readme(out))
    return target
