"""``swaplab datasets ...``"""

from pathlib import Path

import typer

from swaplab.cli_support import friendly_errors, new_app
from swaplab.config import build_config
from swaplab.datasets import sample

app = new_app("Manifests, dataset layouts and the embedded public-domain sample.")


@app.command("sample")
@friendly_errors
def sample_command(
    out: Path = typer.Argument(..., help="Folder to write the sample into."),
    seed: int = typer.Option(None, help="Seed of motion, lighting and audio (default: 0)."),
    clips: int = typer.Option(None, help="Clips per identity (default: 2)."),
    seconds: float = typer.Option(None, help="Length of each clip in seconds (default: 6)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Write the embedded sample: clips of two public-domain faces, H.264 + AAC mp4."""
    folder = sample.run(build_config(sample.SampleConfig, config, out=out, seed=seed, clips=clips, seconds=seconds))
    typer.echo(f"sample written to {folder}")
