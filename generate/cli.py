"""``swaplab generate ...``"""

from pathlib import Path

import typer

from swaplab.cli_support import friendly_errors, new_app
from swaplab.config import build_config
from swaplab.generate import extract

app = new_app("Face-swap generation: extract faces, train, swap, composite.")


@app.command("extract")
@friendly_errors
def extract_command(
    inputs: list[Path] = typer.Argument(..., help="Videos, images or folders of images."),
    out: Path = typer.Option(..., "--out", help="Output folder for crops and faces.csv."),
    identity: str = typer.Option(None, help="Identity label (default: each input's name)."),
    crop_size: int = typer.Option(None, help="Crop side: 64, 96, 128, 160 or 256 (default: 256)."),
    face_type: str = typer.Option(None, help="face, whole_face or head (default: whole_face)."),
    detect_every: int = typer.Option(None, help="Full detection every k-th frame, tracking between (default: 4)."),
    smooth: int = typer.Option(None, help="Landmark smoothing window in frames, 0 = off (default: 0)."),
    identity_ref: Path = typer.Option(None, help="Image of the person to keep when several faces show."),
    min_face_size: int = typer.Option(None, help="Smallest face in pixels (default: 40)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Detect, track, align and crop faces; write crops and a face manifest."""
    cfg = build_config(extract.ExtractConfig, config, inputs=tuple(inputs), out=out, identity=identity,
                       crop_size=crop_size, face_type=face_type, detect_every=detect_every, smooth=smooth,
                       identity_ref=identity_ref, min_face_size=min_face_size, device=device)
    typer.echo(f"manifest written to {extract.run(cfg)}")
