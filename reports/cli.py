"""``swaplab report DIR``"""

from pathlib import Path

import typer

from swaplab.core.cli_support import friendly_errors
from swaplab.reports import report


@friendly_errors
def report_command(run_dir: Path = typer.Argument(..., help="A run folder (for example the demo's).")) -> None:
    """Write an HTML report (figures embedded) and CSV tables for a run folder."""
    typer.echo(f"report written to {report.run(report.ReportConfig(run_dir))}")
