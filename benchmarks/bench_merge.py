"""Merge settings of a swap (colour transfer, blend, sharpening, mask, kept openings), chosen by measurement.

Usage: python benchmarks/bench_merge.py --model MODEL_DIR --probe PROBE.mp4 --probe-faces faces.csv
       --src-faces faces.csv [--vary colour=rct,lct,mkl,hist,none] [--vary sharpen=0,0.5,1]
       [--vary detail=0.5,1] [--vary src_detail=0,0.5] [--vary temporal=0] [--vary feature_fit=0,1]
       [--vary keep_mouth=0] [--vary keep_eyes=0] [--vary keep_lips=0] [--vary chroma_clamp=0,90]
       [--vary shading=0.5,1]
       [--vary mask=mesh-predicted]
       [--base sharpen=1] [--detail-limit 12] [--threads 1] [--out bench_out/merge]

One trained model, one dst clip: the clip is swapped once with the defaults of
``swaplab generate swap`` and once per value of each ``--vary`` setting (one setting changed at a
time, the others at their defaults; ``--base`` settings apply to every swap, the default
row included), and every swap is measured as ``generate run`` measures it
(``quality.json``). Writes ``merge.csv`` (one row per swap) and prints, per setting, the value
with the best score:

    score = mean(FaceNet acceptance, dlib acceptance) - shortfall

where ``shortfall`` sums, over issue 11's realism goals, how far a figure falls outside its goal
relative to the goal: sharpness ratio >= 0.5, seam colour and seam gradient ratios <= 1.5,
fringe ratio <= 1, pose error <= 0.1 IOD, flicker ratio in [0.8, 1.2]. A setting that buys
sharpness with a seam or lost acceptance does not win.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path


def switch(text: str) -> bool:
    """A yes/no setting's value: 1, true or yes (any case) is on, anything else off."""
    return text.lower() in ("1", "true", "yes")


SETTINGS = {"colour": str, "chroma_clamp": float, "shading": float, "blend": str, "mask": str, "mask_erode": int,
            "mask_blur": int, "sharpen": float, "detail": float, "src_detail": float, "temporal": float,
            "feature_fit": float, "keep_mouth": switch, "keep_eyes": switch, "keep_lips": switch}
FIGURES = ("facenet_accept_rate", "dlib_accept_rate", "similarity_to_src", "sharpness_ratio", "seam_colour_ratio",
           "seam_gradient_ratio", "fringe_ratio", "pose_error_iod", "flicker_ratio")
# Recorded beside the score, not in it: the blind judge's margin, blotches of colour inside the face, eyes that
# are no eyes, a mouth that opens out of turn.
RECORDED = ("dlib_similarity_to_src", "colour_anomaly_share", "shading_delta_l", "eye_likeness_swapped",
            "broken_eye_share", "mouth_gap_error", "closed_mouth_opened_share", "shut_eye_opened_share")


def shortfall(quality: dict) -> float:
    """Sum of relative distances outside the realism goals (0 when every goal is met; NaN figures count 0)."""
    def over(value: float, limit: float) -> float:
        return 0.0 if math.isnan(value) else max(0.0, value - limit) / limit

    def under(value: float, limit: float) -> float:
        return 0.0 if math.isnan(value) else max(0.0, limit - value) / limit

    figure = {key: float(quality.get(key, float("nan"))) for key in FIGURES}
    return (under(figure["sharpness_ratio"], 0.5) + over(figure["seam_colour_ratio"], 1.5)
            + over(figure["seam_gradient_ratio"], 1.5) + over(figure["fringe_ratio"], 1.0)
            + over(figure["pose_error_iod"], 0.1) + under(figure["flicker_ratio"], 0.8)
            + over(figure["flicker_ratio"], 1.2))


def score(quality: dict) -> float:
    """Mean acceptance by the two judges minus the realism shortfall (higher is better)."""
    accepted = [float(quality.get(key, float("nan"))) for key in ("facenet_accept_rate", "dlib_accept_rate")]
    accepted = [value for value in accepted if not math.isnan(value)]
    return (sum(accepted) / len(accepted) if accepted else 0.0) - shortfall(quality)


def parse_setting(item: str, flag: str, form: str) -> tuple[str, list[object]]:
    """(setting, [values]) of a 'name=v1,v2' argument of ``flag``, each value converted to the setting's type."""
    name, _, values = item.partition("=")
    if name not in SETTINGS or not values:
        raise SystemExit(f"{flag} {item!r}: use {form} with NAME one of {', '.join(SETTINGS)}")
    return name, [SETTINGS[name](value) for value in values.split(",")]


def variations(vary: list[str]) -> list[tuple[str, object]]:
    """[(setting, value)] from 'name=v1,v2' arguments, the defaults first as ('default', None)."""
    found: list[tuple[str, object]] = [("default", None)]
    for item in vary:
        name, values = parse_setting(item, "--vary", "NAME=V1,V2")
        found += [(name, value) for value in values]
    return found


def base_settings(base: list[str]) -> dict[str, object]:
    """{setting: value} from 'name=value' arguments: settings every swap of this run uses."""
    found = {}
    for item in base:
        name, values = parse_setting(item, "--base", "NAME=VALUE")
        if len(values) != 1:
            raise SystemExit(f"--base {item!r}: one value per setting")
        found[name] = values[0]
    return found


def measure(args: argparse.Namespace, name: str, value: object) -> dict:
    """Swap the probe with one setting changed and return its quality figures and score."""
    from swaplab.datasets.outputs import SwapOutput, TrainOutput
    from swaplab.generate import pipeline, swap
    from swaplab.generate.train import load_checkpoint

    iteration = load_checkpoint(TrainOutput(args.model).checkpoint)["iteration"]  # a new model: new folders
    base = base_settings(args.base)
    prefix = "".join(f"{key}_{val}_" for key, val in base.items())
    if args.detail_limit is not None:  # a constant of the swap, varied here only to measure it
        from swaplab.generate import blend

        blend.DETAIL_LIMIT = args.detail_limit / 255
        prefix = f"detail_limit_{args.detail_limit:g}_" + prefix
    folder = args.out / f"it{iteration:07d}" / (prefix + ("default" if value is None else f"{name}_{value}"))
    changed = {**base, **({} if value is None else {name: value})}
    start = time.perf_counter()
    pipeline.swap_measured(swap.SwapConfig(model=args.model, dst=args.probe, out=folder, dst_faces=args.probe_faces,
                                           device="cpu", **changed), args.src_faces)
    quality = json.loads(SwapOutput(folder, args.probe.stem).quality.read_text())
    return {"setting": name, "value": "" if value is None else value,
            **{key: quality.get(key, float("nan")) for key in FIGURES + RECORDED},
            "shortfall": shortfall(quality), "score": score(quality), "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="Model folder from `generate train`.")
    parser.add_argument("--probe", type=Path, required=True, help="dst clip to swap.")
    parser.add_argument("--probe-faces", type=Path, required=True, help="The clip's face manifest.")
    parser.add_argument("--src-faces", type=Path, required=True, help="Face manifest of the person pasted in.")
    parser.add_argument("--vary", action="append", default=[], help="NAME=V1,V2 (repeatable).")
    parser.add_argument("--base", action="append", default=[],
                        help="NAME=VALUE set in every swap, the default row included (repeatable).")
    parser.add_argument("--detail-limit", type=float, default=None,
                        help="Bound of dst's fine texture in grey levels (default: the swap's DETAIL_LIMIT, 6; "
                             "inf: none).")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench_out/merge"))
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    rows = []
    for name, value in variations(args.vary):
        rows.append(measure(args, name, value))
        print(json.dumps(rows[-1]), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "merge.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    default = rows[0]
    for name in dict.fromkeys(row["setting"] for row in rows[1:]):
        best = max([row for row in rows[1:] if row["setting"] == name], key=lambda row: row["score"])
        verdict = "better than" if best["score"] > default["score"] else "not better than"
        print(f"{name}: best {best['value']} (score {best['score']:.3f}), {verdict} the default "
              f"({default['score']:.3f})")
    print(f"table written to {args.out / 'merge.csv'}")


if __name__ == "__main__":
    main()
