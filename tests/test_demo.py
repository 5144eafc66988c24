"""The end-to-end smoke test: the whole study on the embedded sample with tiny settings, via the CLI.

With two training iterations the models paint a texture, not a face: the face is detected anew in
every fake (as in the real probes), and where none is found the swap is a failed swap, counted in
``study.json`` and left out of the attacks; too few attacks are left, and ``study run`` stops with one
clear line that names the failed swaps. FR,
detection and the report on real attacks are covered by their own tests (and ``make demo``,
whose models train for minutes).
"""

import json
from pathlib import Path

from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.datasets.study_record import StudyRecord
from swaplab.study import build


def test_demo_runs_the_whole_study(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--seconds", "2", "--iterations", "2"])
    # two iterations make smudges: many swaps leave no detectable face (2-3 of 8 since dst's own eyes stay in
    # the smudge, at least 4 before), and study run refuses, saying why (every swap failed, or too few attacks,
    # fakes or lip-sync windows left) and what to do
    assert result.exit_code == 2, result.output
    study = StudyRecord.from_file(out / "study.json")
    failed = study.failed_count
    assert len(study.swaps) == 8 and failed >= 1 and len(study.failed) == failed
    assert f"{failed} of 8: no face detected in the fake" in result.stderr
    assert "train the models longer" in result.stderr and result.stderr.count("error:") == 1
    assert json.loads((out / "study.json").read_text())["failed_count"] == failed
    assert all(s.face_change > 10 for s in study.swaps)  # every face was changed
    for tier in ("lq", "hq"):
        assert len(list((out / "fakes" / tier).glob("*/*/quality.json"))) == 4  # 2 probe segments each, both ways
    # enrolment, training and probes come from disjoint segments, and study.json says which
    roles = [u.role for u in study.segments]
    assert roles.count("enrol") == 2 and roles.count("probe") == 4 and roles.count("train") == 6
    assert set(study.chains) == {"enrolment", "generator_training", "real_probe", "fake"}
    assert study.pairs == (("astronaut", "grace_hopper"),)

    # resumable per pair: a second build finds every job DONE and retrains nothing
    models = sorted(out.glob("fakes/*/*/model/model.pt"))
    stamps = [m.stat().st_mtime_ns for m in models]
    again = build.run(build.BuildConfig(index=out / "sample_index.csv", out=out, iterations=2, workers=2))
    assert [m.stat().st_mtime_ns for m in models] == stamps and len(models) == 2
    assert StudyRecord.from_file(again.record) == study and again.record == out / "study.json"
    # the build's typed output names what it wrote: 2 models, 8 swapped videos, the failed ones apart
    assert len(again.jobs) == 2 and sum(map(len, again.swapped.values())) == 8
    assert len(again.failed) == failed and sum(map(len, again.fakes.values())) == 8 - failed
    assert set(again.failed) <= {v for videos in again.swapped.values() for v in videos}
    assert all(p.is_file() for p in (*again.failed, *again.real_probes, *again.enrolment.values()))
