"""``swaplab detect ...``"""

from pathlib import Path

import pandas as pd
import typer

from swaplab.core.cli_support import friendly_errors, new_app, parse_tiers
from swaplab.core.config import build_config
from swaplab.detect import protocol, score
from swaplab.detect.base import DETECTORS
from swaplab.detect.lipsync import VIDEO_DETECTORS

app = new_app("Deepfake detectors: train and evaluate, score a video, list.")


@app.command("list")
def list_command() -> None:
    """List the registered detectors: face-image detectors, then video (audio-visual) detectors."""
    typer.echo("\n".join(DETECTORS.names()))
    typer.echo("\n".join(f"{name} (video)" for name in VIDEO_DETECTORS.names()))


@app.command("train")
@friendly_errors
def train_command(
    real: list[Path] = typer.Option(..., help="Manifest(s) of real faces."),
    fake: list[str] = typer.Option(..., help="TIER=MANIFEST of fake faces, e.g. hq=fakes/faces.csv."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    detector: str = typer.Option(None, help=f"One of: {', '.join(DETECTORS.names())} (default: iqm-svm)."),
    train_tier: str = typer.Option(None, help="Train on this tier's fakes only; others are cross-condition."),
    frame_step: int = typer.Option(None, help="Use every n-th face (default: 2)."),
    seed: int = typer.Option(None, help="Seed (default: 0)."),
    exclude: list[str] = typer.Option(None, help="Fake video id, generator run or RUN/VIDEO to leave out (failed swaps)."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Train a detector on pair-disjoint splits; threshold on dev, report on eval."""
    cfg = build_config(protocol.DetectConfig, config, real=tuple(real), fake=parse_tiers(fake) or None, out=out,
                       detector=detector, train_tier=train_tier, frame_step=frame_step, seed=seed,
                       excluded=tuple(exclude) if exclude else None)
    table = pd.read_csv(protocol.run(cfg).metrics_csv)
    shown = table[["level", "tier", "condition", "pair_disjoint", "eval_apcer", "eval_bpcer", "eval_hter", "eval_auc",
                   "eval_eer_oracle"]]
    typer.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(f"detector, scores and metrics written to {cfg.out}")


@app.command("score")
@friendly_errors
def score_command(
    video: Path = typer.Argument(..., help="The video to score."),
    model: Path = typer.Option(..., help="Detector folder (the `detector` folder `detect train` wrote)."),
    aggregation: str = typer.Option(None, help="mean, median or max of frame scores (default: mean)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
) -> None:
    """Score a video end to end; the last line is ``fake_score=<float>`` (higher = more likely fake)."""
    value = score.run(build_config(score.ScoreConfig, None, model=model, video=video, aggregation=aggregation,
                                   device=device))
    typer.echo(f"fake_score={value:.6f}")
