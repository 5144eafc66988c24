"""Stage ``report``: one self-contained HTML page (figures embedded) plus CSV tables."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from swaplab.datasets.manifest import read_manifest
from swaplab.errors import SwaplabError
from swaplab.fileio import write_text_atomic
from swaplab.reports.faces import contact_sheet, extraction_table


@dataclass(frozen=True)
class ReportConfig:
    """Settings of ``swaplab report``: the run folder to describe."""

    run_dir: Path


def figure_tag(fig: plt.Figure, alt: str) -> str:
    """The figure as an ``<img>`` with the PNG inline (base64), then closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def run(config: ReportConfig) -> Path:
    """Describe every face manifest under ``run_dir``; return the HTML file's path."""
    manifests = sorted(Path(config.run_dir).rglob("faces.csv"))
    if not manifests:
        raise SwaplabError(f"{config.run_dir}: no face manifest (faces.csv) found to report on")
    out = Path(config.run_dir) / "report"
    sections, tables = [], []
    for manifest in manifests:
        records = read_manifest(manifest)
        table = extraction_table(records)
        table.insert(0, "manifest", str(manifest.relative_to(config.run_dir)))
        tables.append(table)
        sections.append(f"<h3>{html.escape(str(manifest.relative_to(config.run_dir)))}</h3>"
                        + figure_tag(contact_sheet(records, manifest), f"faces of {manifest.parent.name}"))
    summary = pd.concat(tables, ignore_index=True)
    write_text_atomic(out / "extraction.csv", summary.to_csv(index=False))
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>swaplab report</title></head><body>"
            "<h1>swaplab report</h1><h2>Face extraction</h2>"
            + summary.to_html(index=False, float_format=lambda v: f"{v:.3f}") + "".join(sections)
            + "</body></html>")
    target = out / "index.html"
    write_text_atomic(target, page)
    return target
