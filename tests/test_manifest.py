import dataclasses
import math
from pathlib import Path

import pytest

from swaplab.datasets import manifest as mf
from swaplab.datasets.manifest import FaceRecord, read_manifest, write_manifest
from swaplab.core.errors import SwaplabError


def make_record(**changes: object) -> FaceRecord:
    base = FaceRecord(
        crop_path="crops/v/000003.png", identity="alice", video_id="v", frame_index=3, timestamp=0.12,
        source_path="/data/v.mp4", source_sha256="ab" * 32, has_face=True, bbox=(1.5, 2.0, 50.25, 60.0),
        landmarks=((10.0, 11.0), (20.0, 11.5), (15.0, 18.0), (11.0, 25.0), (19.0, 25.5)),
        matrix=((1.1, 0.2, -3.0), (-0.2, 1.1, 4.5)), crop_size=256, face_type="whole_face",
        template="five-point-112-v1", frame_width=640, frame_height=360, detector="mtcnn", det_score=0.99,
        landmark_source="tracked", selection="largest-track",
    )
    return dataclasses.replace(base, **changes)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    no_face = make_record(crop_path="", has_face=False, bbox=mf.NAN_BOX, landmarks=mf.NAN_LANDMARKS,
                          matrix=mf.NAN_MATRIX, frame_index=4)
    fake = make_record(label="fake", generator_run="run-42", frame_index=5)
    records = [make_record(), no_face, fake]
    path = write_manifest(records, tmp_path / "faces.csv")
    back = read_manifest(path)
    assert back[0] == records[0]
    assert back[2] == fake
    assert back[1].has_face is False and math.isnan(back[1].bbox[0]) and back[1].crop_path == ""
    assert path.read_text().splitlines()[0] == f"# swaplab-face-manifest version={mf.FORMAT_VERSION}"
    assert back[0].matrix_array.shape == (2, 3) and back[0].landmarks_array.shape == (5, 2)


@pytest.mark.parametrize("bad_path", ["../escape.png", "/etc/passwd", "crops/../../x.png"])
def test_paths_that_leave_the_folder_are_refused(tmp_path: Path, bad_path: str) -> None:
    with pytest.raises(SwaplabError, match="leaves the manifest's folder"):
        write_manifest([make_record(crop_path=bad_path)], tmp_path / "faces.csv")
    good = write_manifest([make_record()], tmp_path / "faces.csv")
    good.write_text(good.read_text().replace("crops/v/000003.png", bad_path))
    with pytest.raises(SwaplabError, match="leaves the manifest's folder"):
        read_manifest(good)


def test_newer_broken_and_foreign_files_fail_clearly(tmp_path: Path) -> None:
    path = write_manifest([make_record()], tmp_path / "faces.csv")
    text = path.read_text()
    path.write_text(text.replace(f"version={mf.FORMAT_VERSION}", "version=99"))
    with pytest.raises(SwaplabError, match="format 99 is newer"):
        read_manifest(path)
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SwaplabError, match="not a swaplab face manifest"):
        read_manifest(path)
    lines = text.splitlines()
    path.write_text("\n".join([lines[0], lines[1].replace("det_score", "score"), lines[2]]))
    with pytest.raises(SwaplabError, match="missing columns \\['det_score'\\]"):
        read_manifest(path)
    path.write_text(text.replace(",0.99,", ",high,"))
    with pytest.raises(SwaplabError, match="broken manifest row at line 3"):
        read_manifest(path)
    with pytest.raises(SwaplabError, match="no such manifest"):
        read_manifest(tmp_path / "missing.csv")


def test_labels_are_checked() -> None:
    with pytest.raises(ValueError, match="label must be"):
        make_record(label="maybe")
    with pytest.raises(ValueError, match="generator_run"):
        make_record(label="fake")


def test_interrupted_write_leaves_no_manifest(tmp_path: Path) -> None:
    def rows():
        yield make_record()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_manifest(rows(), tmp_path / "faces.csv")
    assert list(tmp_path.iterdir()) == []


def test_version_1_manifests_still_read(tmp_path: Path) -> None:
    path = write_manifest([make_record(), make_record(label="fake", generator_run="r", source_identity="bob")],
                          tmp_path / "faces.csv")
    back = read_manifest(path)
    assert back[0].source_identity == "alice" and back[1].source_identity == "bob"
    lines = path.read_text().splitlines()
    header = lines[1].split(",")
    drop = header.index("source_identity")
    old = [",".join(v for k, v in enumerate(line.split(",")) if k != drop) for line in lines[1:]]
    path.write_text("\n".join(["# swaplab-face-manifest version=1", *old]) + "\n")
    assert [r.source_identity for r in read_manifest(path)] == ["alice", "alice"]


def _drop_columns(path: Path, names: set[str], version: int) -> None:
    lines = path.read_text().splitlines()
    header = lines[1].split(",")
    keep = [k for k, name in enumerate(header) if name not in names]
    rows = [",".join(line.split(",")[k] for k in keep) for line in lines[1:]]
    path.write_text("\n".join([f"# swaplab-face-manifest version={version}", *rows]) + "\n")


def test_version_2_manifests_read_with_v3_defaults(tmp_path: Path) -> None:
    path = write_manifest([make_record(face_index=2, track_id=7, shot_id=1, cluster_id=3)], tmp_path / "faces.csv")
    _drop_columns(path, set(mf._ADDED_IN_V3), 2)
    (back,) = read_manifest(path)
    assert (back.face_index, back.track_id, back.shot_id, back.cluster_id) == (0, -1, -1, -1)
    assert back.mesh_path == "" and back.mesh_index == -1 and mf.load_mesh(back, path) is None
    assert back == make_record()


def test_version_3_round_trip_with_mesh_sidecar(tmp_path: Path) -> None:
    import numpy as np

    mesh = np.full((2, 478, 2), np.nan, np.float32)
    mesh[1] = np.arange(956, dtype=np.float32).reshape(478, 2)
    (tmp_path / "landmarks").mkdir()
    np.save(tmp_path / "landmarks" / "v.npy", mesh)
    records = [make_record(face_index=f, track_id=10 + f, shot_id=4, cluster_id=f, mesh_path="landmarks/v.npy",
                           mesh_index=f, selection="all") for f in (0, 1)]
    path = write_manifest(records, tmp_path / "faces.csv")
    back = read_manifest(path)
    assert back == records
    assert mf.load_mesh(back[0], path) is None
    np.testing.assert_array_equal(mf.load_mesh(back[1], path), mesh[1])
    assert mf.kept_only(back + [make_record(selection="none")]) == back
    with pytest.raises(SwaplabError, match="leaves the manifest's folder"):
        write_manifest([make_record(mesh_path="../m.npy", mesh_index=0)], tmp_path / "x.csv")
