"""``swaplab evaluate ...``"""

from pathlib import Path

import pandas as pd
import typer

from swaplab.core.cli_support import friendly_errors, new_app, parse_tiers
from swaplab.core.config import build_config
from swaplab.evaluate import fr, verify
from swaplab.faces.backends import FR_BACKENDS

app = new_app("Face-recognition vulnerability and detector metrics.")


@app.command("backends")
def backends_command() -> None:
    """List the registered face-recognition backends."""
    typer.echo("\n".join(FR_BACKENDS.names()))


@app.command("verify")
@friendly_errors
def verify_command(
    first: Path = typer.Argument(..., help="Image or video A."),
    second: Path = typer.Argument(..., help="Image or video B."),
    backend: str = typer.Option(None, help=f"FR backend: {', '.join(FR_BACKENDS.names())} (default: facenet)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
) -> None:
    """Print the similarity of the faces in A and B; the last line is ``score=<float>``."""
    score = verify.run(build_config(verify.VerifyConfig, None, first=first, second=second, backend=backend,
                                    device=device))
    typer.echo(f"score={score:.6f}")


@app.command("fr")
@friendly_errors
def fr_command(
    genuine: list[Path] = typer.Option(..., help="Manifest(s) of real faces, several videos per identity."),
    attacks: list[str] = typer.Option(..., help="TIER=MANIFEST of deepfake faces, e.g. hq=fakes/faces.csv."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    backend: list[str] = typer.Option(None, help=f"FR backends to run: {', '.join(FR_BACKENDS.names())} "
                                      f"(default: {', '.join(fr.DEFAULT_BACKENDS)})."),
    split: str = typer.Option(None, help="auto, identity, video or segment (default: auto)."),
    bootstrap: int = typer.Option(None, help="Subject bootstrap rounds (default: 500)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    exclude: list[str] = typer.Option(None, help="Fake video to leave out (failed swap): its video id, "
                                      "generator run, or RUN/VIDEO. Repeatable."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Run the FR vulnerability protocol: licit EER, IAPMR on deepfakes, with intervals."""
    cfg = build_config(fr.FRConfig, config, genuine=tuple(genuine), attacks=parse_tiers(attacks) or None, out=out,
                       backends=tuple(backend) if backend else None, split=split, bootstrap=bootstrap, device=device,
                       excluded=tuple(exclude) if exclude else None)
    table = pd.read_csv(fr.run(cfg).metrics_csv)
    typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(f"metrics, scores and figures written to {cfg.out}")
