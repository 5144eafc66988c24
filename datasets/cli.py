"""``swaplab datasets ...``"""

from pathlib import Path

import typer

from swaplab.core.cli_support import friendly_errors, new_app
from swaplab.core.config import build_config
from swaplab.datasets import sample
from swaplab.datasets.layouts import LAYOUTS, index_dataset, segment_records
from swaplab.datasets.video_index import write_index

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


@app.command("index")
@friendly_errors
def index_command(
    root: Path = typer.Argument(..., help="The dataset's root folder."),
    layout: str = typer.Option(..., help=f"One of: {', '.join(LAYOUTS.names())}."),
    out: Path = typer.Option(..., "--out", help="Video index CSV to write."),
    segment_seconds: float = typer.Option(None, "--segment-seconds", help="Cut real videos into segments of about "
                                          "S seconds: first enrolment, about half the rest generator training, "
                                          "the others probes."),
) -> None:
    """Index a dataset's videos (identity, real/fake, tier, official split) into a CSV."""
    records = index_dataset(root, layout)
    if segment_seconds is not None:
        records = segment_records(records, root, segment_seconds)
    write_index(records, root, out)
    fakes = sum(r.label == "fake" for r in records)
    videos = len({r.path for r in records})
    segments = f", {len(records)} segments" if segment_seconds is not None else ""
    typer.echo(f"{videos} videos ({fakes} fake){segments} of {len({r.identity for r in records})} identities -> {out}")
