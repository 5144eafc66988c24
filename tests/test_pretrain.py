"""Pretraining: the pool file, the small exported model and its provenance, fine-tuning from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from swaplab.cli import app
from swaplab.core.errors import SwaplabError
from swaplab.generate import pretrain, train
from swaplab.generate.models import PRESETS, build_model


@pytest.fixture(scope="module")
def pretrained(sample_faces: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model pretrained on the sample's astronaut only (3 iterations), through the CLI."""
    out = tmp_path_factory.mktemp("pretrain")
    result = CliRunner().invoke(app, ["generate", "pretrain", str(sample_faces["astronaut"]), "--out", str(out),
                                      "--preset", "tiny", "--iterations", "3", "--batch-size", "4",
                                      "--per-manifest", "12", "--pool-resolution", "64"])
    assert result.exit_code == 0, result.output
    return out


def test_pool_keeps_faces_identities_and_sources(pretrained: Path, sample_faces: dict[str, Path]) -> None:
    pool = pretrain.load_pool(pretrained / "pool.pt")
    assert pool["identities"] == ["astronaut"] and pool["resolution"] == 64
    assert pool["manifests"][0]["sha256"] == pretrain.manifest_digest(sample_faces["astronaut"])
    faces = pretrain.pool_faceset(pool, 32)
    assert faces.faces.shape == (12, 3, 32, 32) and faces.faces.dtype == torch.uint8
    assert faces.dense.shape == (12, 478, 2)
    # JPEG at quality 95 keeps the crops close to what was decoded
    assert faces.faces.float().std() > 10


def test_pretrained_model_is_small_and_says_what_it_saw(pretrained: Path) -> None:
    payload = train.load_pretrained(pretrained / "pretrained.pt")
    assert payload["provenance"]["identities"] == ["astronaut"]
    assert payload["provenance"]["iterations"] == 3 and payload["provenance"]["faces"] == 12
    assert not any(name.startswith("decoder_dst.") for name in payload["model"])
    assert {t.dtype for t in payload["model"].values()} == {torch.float16}
    model = build_model(PRESETS["tiny"])
    full = train.expand_shared_decoder(payload["model"], model)
    model.load_state_dict(full)
    assert torch.equal(model.decoder_src.face[0].conv.weight, model.decoder_dst.face[0].conv.weight)


def test_fine_tuning_starts_from_pretrained_weights(pretrained: Path, sample_faces: dict[str, Path],
                                                    tmp_path: Path) -> None:
    # the pair grace_hopper -> grace_hopper was never seen by the pool (astronaut only)
    config = train.TrainConfig(src=sample_faces["grace_hopper"], dst=sample_faces["grace_hopper"], out=tmp_path,
                               preset="tiny", iterations=1, batch_size=2, max_faces=8, learning_rate=0.0,
                               pretrained=pretrained / "pretrained.pt")
    checkpoint = train.load_checkpoint(train.run(config).checkpoint)
    weights = train.load_pretrained(pretrained / "pretrained.pt")["model"]
    name = "encoder.net.0.0.weight"
    assert torch.allclose(checkpoint["model"][name], weights[name].float())
    assert checkpoint["meta"]["pretrained"]["identities"] == ["astronaut"]


def test_fine_tuning_refuses_a_person_the_pool_held(pretrained: Path, sample_faces: dict[str, Path],
                                                    tmp_path: Path) -> None:
    config = train.TrainConfig(src=sample_faces["astronaut"], dst=sample_faces["grace_hopper"], out=tmp_path,
                               preset="tiny", iterations=1, max_faces=8, pretrained=pretrained / "pretrained.pt")
    with pytest.raises(SwaplabError, match="pretrained on astronaut"):
        train.run(config)


def test_pretrained_of_another_size_is_refused(pretrained: Path, sample_faces: dict[str, Path],
                                               tmp_path: Path) -> None:
    config = train.TrainConfig(src=sample_faces["grace_hopper"], dst=sample_faces["grace_hopper"], out=tmp_path,
                               preset="lq", iterations=1, max_faces=8, pretrained=pretrained / "pretrained.pt")
    with pytest.raises(SwaplabError, match="model, the config asks for"):
        train.run(config)


def test_pool_resolution_below_the_model_is_refused(pretrained: Path, tmp_path: Path) -> None:
    config = pretrain.PretrainConfig(out=tmp_path, pool=pretrained / "pool.pt", preset="hq", iterations=1)
    with pytest.raises(SwaplabError, match="64 px faces"):
        pretrain.run(config)


def test_a_pair_gets_a_pretrained_model_that_never_saw_it(pretrained: Path) -> None:
    model = pretrained / "pretrained.pt"
    assert pretrain.seen_identities(model) == {"astronaut"}
    assert pretrain.choose_pretrained((model,), {"grace_hopper", "someone"}) == model
    assert pretrain.choose_pretrained((model,), {"astronaut", "grace_hopper"}) is None


def test_study_pairs_only_people_a_pretrained_model_never_saw(pretrained: Path, tmp_path: Path) -> None:
    from swaplab.study import build

    config = build.BuildConfig(index=tmp_path / "index.csv", out=tmp_path, tiers=("tiny",),
                               pretrained=(pretrained / "pretrained.pt",))
    allowed = build.pretrained_rule(config)
    assert allowed("grace_hopper", "someone") and not allowed("astronaut", "someone")
    assert build.job_pretrained(config, "tiny", "grace_hopper", "someone") == str(pretrained / "pretrained.pt")
    with pytest.raises(SwaplabError, match="never saw astronaut"):
        build.job_pretrained(config, "tiny", "astronaut", "someone")
    assert build.job_pretrained(build.BuildConfig(index=tmp_path, out=tmp_path), "lq", "a", "b") is None


def test_the_shipped_model_loads_and_refuses_the_people_it_saw(sample_faces: dict[str, Path],
                                                               tmp_path: Path) -> None:
    shipped = train.shipped_pretrained("lq")
    payload = train.load_pretrained(shipped)
    assert payload["spec"] == PRESETS["lq"].as_dict()
    assert "lp_d3" in payload["provenance"]["identities"] and payload["provenance"]["faces"] == 2865
    shipped_hq = train.shipped_pretrained("hq")
    hq = train.load_pretrained(shipped_hq)
    assert hq["spec"] == PRESETS["hq"].as_dict() and hq["provenance"]["identities"] == payload["provenance"]["identities"]
    assert pretrain.of_preset(("builtin",), "lq") == (shipped,) and pretrain.of_preset(("builtin",), "hq") == (shipped_hq,)
    with pytest.raises(SwaplabError, match="no pretrained tiny model ships"):
        train.shipped_pretrained("tiny")
    refused = train.TrainConfig(src=sample_faces["astronaut"], dst=sample_faces["grace_hopper"], out=tmp_path,
                                preset="lq", iterations=1, max_faces=8, pretrained=Path("builtin"))
    with pytest.raises(SwaplabError, match="pretrained on lp_d3"):
        train.start_from_pretrained(train.new_state(refused, torch.device("cpu")), refused, ("lp_d3", "x"))
    model = train.new_state(dataclasses.replace(refused, pretrained=None), torch.device("cpu"))
    train.start_from_pretrained(model, refused, ("astronaut", "grace_hopper"))
    assert model.meta["pretrained"]["path"] == str(shipped)


def test_a_resumed_model_keeps_its_pretrained_start_and_its_check(pretrained: Path, sample_faces: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    model = pretrained / "pretrained.pt"
    config = train.TrainConfig(src=sample_faces["grace_hopper"], dst=sample_faces["grace_hopper"], out=tmp_path,
                               preset="tiny", iterations=1, batch_size=2, max_faces=8, pretrained=model)
    train.run(config)
    again = dataclasses.replace(config, iterations=2, resume=True)
    assert train.load_checkpoint(train.run(again).checkpoint)["meta"]["pretrained"]["identities"] == ["astronaut"]
    # resuming on a person the pretrained model saw is refused, with or without --pretrained
    for given in (model, None):
        sneaky = dataclasses.replace(again, src=sample_faces["astronaut"], iterations=3, pretrained=given)
        with pytest.raises(SwaplabError, match="pretrained on astronaut"):
            train.run(sneaky)


def test_a_pretrained_start_cannot_be_added_on_resume(pretrained: Path, sample_faces: dict[str, Path],
                                                      tmp_path: Path) -> None:
    config = train.TrainConfig(src=sample_faces["grace_hopper"], dst=sample_faces["grace_hopper"], out=tmp_path,
                               preset="tiny", iterations=1, batch_size=2, max_faces=8)
    train.run(config)
    with pytest.raises(SwaplabError, match="was not started from"):
        train.run(dataclasses.replace(config, iterations=2, resume=True, pretrained=pretrained / "pretrained.pt"))


def test_a_pretraining_keeps_its_pool(pretrained: Path, sample_faces: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(SwaplabError, match="already holds a model"):
        pretrain.run(pretrain.PretrainConfig(out=pretrained, faces=(sample_faces["grace_hopper"],), preset="tiny"))
    other = tmp_path / "other"
    runner = CliRunner()
    made = runner.invoke(app, ["generate", "pretrain", str(sample_faces["grace_hopper"]), "--out", str(other),
                               "--preset", "tiny", "--iterations", "1", "--batch-size", "2", "--per-manifest", "4",
                               "--pool-resolution", "64"])
    assert made.exit_code == 0, made.output
    resumed = runner.invoke(app, ["generate", "pretrain", "--pool", str(other / "pool.pt"), "--out", str(pretrained),
                                  "--preset", "tiny", "--iterations", "4", "--resume"])
    assert resumed.exit_code == 2 and "is not the pool" in resumed.output
    # its own config replays (faces from the file, not an empty list from the command line)
    replay = runner.invoke(app, ["generate", "pretrain", "--config", str(other / "pretrain_config.json"),
                                 "--out", str(tmp_path / "replay")])
    assert replay.exit_code == 0, replay.output


def test_train_refuses_a_seen_person_on_the_command_line(pretrained: Path, sample_faces: dict[str, Path],
                                                          tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "train", "--src", str(sample_faces["astronaut"]), "--dst",
                                      str(sample_faces["grace_hopper"]), "--out", str(tmp_path), "--preset", "tiny",
                                      "--pretrained", str(pretrained / "pretrained.pt"), "--iterations", "1"])
    assert result.exit_code == 2 and "pretrained on astronaut" in result.output
    assert not list(tmp_path.glob("mesh_*.npy"))  # refused before any decoding
