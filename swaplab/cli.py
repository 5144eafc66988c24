"""The one command line: ``swaplab <stage> ...``."""

from pathlib import Path

import typer

from swaplab import __version__
from swaplab.study import demo
from swaplab.core.cli_support import friendly_errors, new_app
from swaplab.core.config import build_config
from swaplab.datasets.cli import app as datasets_app
from swaplab.detect.cli import app as detect_app
from swaplab.evaluate.cli import app as evaluate_app
from swaplab.generate.cli import app as generate_app
from swaplab.reports.cli import report_command
from swaplab.study.cli import app as study_app

app = new_app("swaplab: make deepfakes to measure and defend against them.")
app.add_typer(datasets_app, name="datasets")
app.add_typer(generate_app, name="generate")
app.add_typer(detect_app, name="detect")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(study_app, name="study")
app.command("report")(report_command)


@app.command("demo")
@friendly_errors
def demo_command(
    out: Path = typer.Option(None, help="Output folder (default: demo_out)."),
    minutes: float = typer.Option(None, help="Time budget in minutes (default: 15)."),
    seed: int = typer.Option(None, help="Seed (default: 0)."),
    seconds: float = typer.Option(None, help="Length of each sample clip (default: 6)."),
    iterations: int = typer.Option(None, help="Cap training iterations per tier (default: time budget only)."),
) -> None:
    """Run the study on the embedded sample and write the report."""
    page = demo.run(build_config(demo.DemoConfig, None, out=out, minutes=minutes, seed=seed, seconds=seconds,
                                 iterations=iterations))
    typer.echo(f"demo finished; report: {page}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"swaplab {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """swaplab: make deepfakes to measure and defend against them."""


def main() -> None:
    """Console entry point."""
    app()
