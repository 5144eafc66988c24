"""Stage ``report``: one self-contained HTML page (figures embedded) plus CSV and Markdown tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swaplab.core.errors import SwaplabError
from swaplab.core.fileio import write_text_atomic
from swaplab.reports import sections

STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
         "table.t{border-collapse:collapse;font-size:12px;margin:0.5em 0}"
         "table.t td,table.t th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%;margin:4px}"
         ".banner{background:#fff3bf;padding:0.5em;border:1px solid #f08c00}")


@dataclass(frozen=True)
class ReportConfig:
    """Settings of ``swaplab report``: the run folder to describe."""

    run_dir: Path


def run(config: ReportConfig) -> Path:
    """Write ``report/index.html`` and tables for everything found in ``run_dir``; return the page."""
    run_dir = Path(config.run_dir)
    if not any(run_dir.rglob("faces.csv")):
        raise SwaplabError(f"{run_dir}: no face manifest (faces.csv) found to report on")
    out = run_dir / "report"
    figures = out / "figures"
    extraction, summary = sections.extraction_section(run_dir, figures)
    fr_html, study = sections.fr_section(run_dir)
    write_text_atomic(out / "extraction.csv", summary.to_csv(index=False))
    if study is not None:
        write_text_atomic(out / "fr_table.csv", study.to_csv(index=False))
        write_text_atomic(out / "fr_table.md", study.to_markdown(index=False, floatfmt=".4f"))
    detection_html, detection = sections.detection_section(run_dir)
    if detection is not None:
        write_text_atomic(out / "detection_table.csv", detection.to_csv(index=False))
        write_text_atomic(out / "detection_table.md", detection.to_markdown(index=False, floatfmt=".4f"))
    body = (fr_html + detection_html + sections.quality_section(run_dir, figures) + sections.training_section(run_dir, figures)
            + extraction + sections.run_manifest_section(run_dir))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>swaplab report</title><style>{STYLE}</style>"
            "</head><body><h1>swaplab report</h1><p class='banner'>Every swapped face shown here is synthetic, "
            "made by swaplab to measure forgery.</p>" + body + "</body></html>")
    target = out / "index.html"
    write_text_atomic(target, page)
    return target
