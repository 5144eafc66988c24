"""Report tables: printed cells with human headers, a caption, and the same table as HTML, CSV and LaTeX.

The CSV and LaTeX files hold exactly the cells the page shows (percentages with one decimal, the
95 % interval in the same cell), so a table goes into a paper as it is: ``\\input{tables/fr.tex}``
(add ``\\usepackage{booktabs,array}`` to the preamble).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from swaplab.core.fileio import write_text_atomic

TABLE_FOLDER = "tables"
NARROW_COLUMNS = 5  # wider tables get wrapping p-columns in LaTeX
BREAK_AFTER = re.compile(r"[/_](?=\w)")  # paths and code names may wrap there on the page


@dataclass(frozen=True)
class Table:
    """One table of the report: ``name`` is the file stem, ``frame`` holds printed cells (strings)."""

    name: str
    caption: str
    frame: pd.DataFrame
    full: pd.DataFrame | None = None  # the CSV's cells when they differ (reasons in full, no caption notes)


def to_latex(table: Table) -> str:
    """A booktabs ``table`` float (pandas Styler; needs jinja2), special characters escaped, en dashes as ``--``."""
    cells = table.frame.map(_latex_escape).rename(columns=_latex_escape)
    text = cells.style.hide(axis="index").to_latex(
        hrules=True, caption=_latex_escape(table.caption), label=f"tab:{table.name}", position_float="centering",
        column_format=column_format(len(table.frame.columns)))
    if len(table.frame.columns) > NARROW_COLUMNS:
        text = text.replace("\\centering\n", "\\centering\n\\small\n", 1)
    return text


def column_format(count: int) -> str:
    """``l`` columns for a narrow table; for a wide one, wrapping columns that share the line width
    (``p`` with ragged right: needs ``\\usepackage{array}``)."""
    if count <= NARROW_COLUMNS:
        return "l" * count
    width = f"\\dimexpr {0.98 / count:.3f}\\linewidth-2\\tabcolsep\\relax"
    return (">{\\raggedright\\arraybackslash}" + f"p{{{width}}}") * count


LATEX_SPECIALS = {"\\": r"\textbackslash{}", "%": r"\%", "&": r"\&", "_": r"\_", "#": r"\#", "$": r"\$",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "–": "--"}
_LATEX_SPECIAL = re.compile("|".join(re.escape(c) for c in LATEX_SPECIALS))


def _latex_escape(text: object) -> object:
    """Text with LaTeX's special characters escaped (one pass); other values unchanged."""
    return _LATEX_SPECIAL.sub(lambda m: LATEX_SPECIALS[m.group(0)], text) if isinstance(text, str) else text


def write_table(table: Table, report_dir: Path) -> list[Path]:
    """``tables/<name>.csv`` and ``tables/<name>.tex`` under ``report_dir``; returns both paths."""
    folder = Path(report_dir) / TABLE_FOLDER
    csv, tex = folder / f"{table.name}.csv", folder / f"{table.name}.tex"
    write_text_atomic(csv, (table.frame if table.full is None else table.full).to_csv(index=False))
    write_text_atomic(tex, to_latex(table))
    return [csv, tex]


def to_html(table: Table) -> str:
    """The table with its caption and links to its CSV and LaTeX files (relative to ``index.html``)."""
    cells = table.frame.map(lambda v: BREAK_AFTER.sub(lambda m: m.group(0) + "\u200b", v) if isinstance(v, str) else v)
    body = cells.to_html(index=False, escape=True, border=0, na_rep="", justify="left")
    links = " ".join(f'<a href="{TABLE_FOLDER}/{table.name}.{ext}">{ext.upper()}</a>' for ext in ("csv", "tex"))
    caption = f"<caption>{html.escape(table.caption)} <span class='files'>[{links}]</span></caption>"
    return re.sub(r"<table[^>]*>", f'<table class="t" id="table-{table.name}">{caption}', body, count=1)
