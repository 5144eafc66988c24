"""The end-to-end smoke test: the whole study on the embedded sample with tiny settings, via the CLI."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.study import build


def test_demo_runs_the_whole_study(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--seconds", "2", "--iterations", "2"])
    assert result.exit_code == 0, result.output
    page = out / "report" / "index.html"
    assert result.output.strip().endswith(str(page))
    html = page.read_text()
    for heading in ("Face-recognition vulnerability", "Swaps", "Training", "Face extraction", "Run manifest"):
        assert heading in html
    assert html.count("data:image/png;base64,") >= 10
    study = pd.read_csv(out / "report" / "fr_table.csv")
    assert {"facenet", "lbp", "FaceNet (published)"} <= set(study["FR system"])
    # the report's IAPMR is recomputed from the score files and the dev threshold
    details = pd.read_json(out / "fr" / "metrics.json", typ="series")["results"]
    for found in (r for r in details if r["level"] == "frame"):
        rows = [line.split() for line in (out / "fr" / "scores" / found["backend"] / "frame" /
                                          f"spoof-{found['tier']}-eval.txt").read_text().splitlines()]
        attacks = np.array([float(s) for _, _, probe, s in rows if ".swapped#" in probe])
        row = study[study["FR system"] == found["backend"]].iloc[0]
        assert row[f"IAPMR {found['tier']}"] == pytest.approx(np.mean(attacks >= found["threshold"]))
    for tier in ("lq", "hq"):
        assert len(list((out / "fakes" / tier).glob("*/*/quality.json"))) == 2  # both people, swapped both ways
    detection = pd.read_csv(out / "report" / "detection_table.csv")
    assert {"iqm-svm", "iqm-lda", "mesoinception4", "IQM+SVM (published)"} == set(detection.detector)
    assert set(detection.condition.dropna()) == {"in-distribution", "cross-condition"}
    assert "Deepfake detection" in html

    # resumable per pair: a second build finds every job DONE and retrains nothing
    models = sorted(out.glob("fakes/*/*/model/model.pt"))
    stamps = [m.stat().st_mtime_ns for m in models]
    again = build.run(build.BuildConfig(index=out / "sample_index.csv", out=out, iterations=2, workers=2))
    assert [m.stat().st_mtime_ns for m in models] == stamps and len(models) == 2
    study = json.loads(again.read_text())
    assert sorted(study["fakes"]) == ["hq", "lq"] and len(study["fakes"]["lq"]) == 2
    assert study["pairs"] == [["astronaut", "grace_hopper"]]
