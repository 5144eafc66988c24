"""``swaplab demo``: the whole study on the embedded sample, on CPU-sized budgets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swaplab.config import save_config
from swaplab.datasets import sample
from swaplab.datasets.sample import PORTRAITS
from swaplab.fileio import require_writable_dir
from swaplab.generate import extract
from swaplab.reports import report


@dataclass(frozen=True)
class DemoConfig:
    """Settings of ``swaplab demo``: output folder, time budget (minutes), seed."""

    out: Path = Path("demo_out")
    minutes: float = 15.0
    seed: int = 0


def run(config: DemoConfig) -> Path:
    """Make the sample, extract every identity's faces, write the report; return the report's path.

    Steps that later stages add (train, swap, detect, evaluate) join here.
    """
    out = require_writable_dir(config.out)
    save_config(config, out / "demo_config.json")
    sample_dir = sample.run(sample.SampleConfig(out=out / "sample", seed=config.seed))
    for portrait in PORTRAITS:
        clips = tuple(sorted((sample_dir / portrait.name).glob("*.mp4")))
        extract.run(extract.ExtractConfig(inputs=clips, out=out / "faces" / portrait.name,
                                          identity=portrait.name))
    return report.run(report.ReportConfig(out))
