"""``swaplab study ...``"""

from pathlib import Path

import typer

from swaplab.core.cli_support import friendly_errors, new_app
from swaplab.core.config import build_config
from swaplab.study import build, measure

app = new_app("The study: build a tiered deepfake set from indexed videos, then measure it.")


@app.command("build")
@friendly_errors
def build_command(
    index: Path = typer.Argument(..., help="Video index from `swaplab datasets index`."),
    out: Path = typer.Option(..., "--out", help="Build folder."),
    tier: list[str] = typer.Option(None, help="Tiers to make: lq, hq (default: both)."),
    pairs: Path = typer.Option(None, help="File of 'src dst' lines (default: look-alike pairs by FaceNet)."),
    minutes: float = typer.Option(None, help="Training minutes per model (default: 5)."),
    iterations: int = typer.Option(None, help="Training iteration cap per model."),
    executor: str = typer.Option(None, help="local or ray (default: local)."),
    workers: int = typer.Option(None, help="Local worker processes (default: 1)."),
    seed: int = typer.Option(None, help="Seed (default: 0)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    max_probes: int = typer.Option(None, help="Probe segments used per person (default: all)."),
    pretrained: list[Path] = typer.Option(None, help="pretrained.pt to fine-tune from, or builtin (repeatable): "
                                          "each pair starts from one of its tier that never saw either person."),
    config: Path = typer.Option(None, "--config", help="JSON file with these settings."),
) -> None:
    """Extract, pair, train one model per pair and tier on training segments, swap probe segments (resumable)."""
    cfg = build_config(build.BuildConfig, config, index=index, out=out, tiers=tuple(tier) if tier else None,
                       pairs=pairs, minutes=minutes, iterations=iterations, executor=executor, workers=workers,
                       seed=seed, device=device, max_probes=max_probes,
                       pretrained=tuple(pretrained) if pretrained else None)
    typer.echo(f"deepfake set written; its description: {build.run(cfg).record}")


@app.command("run")
@friendly_errors
def run_command(
    build_dir: Path = typer.Argument(..., help="A folder made by `swaplab study build`."),
    backend: list[str] = typer.Option(None, help="FR backends (default: facenet, dlib, lbp, those installed)."),
    detector: list[str] = typer.Option(None, help="Detectors (default: iqm-svm, iqm-lda, mesoinception4)."),
    bootstrap: int = typer.Option(None, help="Subject bootstrap rounds (default: 500)."),
    lipsync: bool = typer.Option(None, "--lipsync/--no-lipsync", help="Also run the audio-visual lip-sync detector "
                                 "(default: on)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    test_index: Path = typer.Option(None, "--test-index", help="Third-party deepfakes (index in the faceforensics, "
                                    "celebdf or deepfaketimit layout): detectors are also tested on them "
                                    "(cross-dataset)."),
) -> None:
    """FR vulnerability and detection on a built set, then the HTML report."""
    cfg = build_config(measure.MeasureConfig, None, build=build_dir, backends=tuple(backend) if backend else None,
                       detectors=tuple(detector) if detector else None, bootstrap=bootstrap, device=device,
                       test_index=test_index, lipsync=lipsync)
    typer.echo(f"report: {measure.run(cfg)}")
