"""Published figures to compare with: Korshunov & Marcel (2018), "DeepFakes: a New Threat to Face
Recognition? Assessment and Detection", arXiv:1812.08685, on DeepfakeTIMIT.

Their set: VidTIMIT, 32 people, 16 look-alike pairs chosen by hand, swap models of 64 px (lq) and
128 px (hq), their own protocol. Their FaceNet may differ from swaplab's ``facenet`` backend
(InceptionResNetV1 trained on VGGFace2, 512-d). Only figures given in the paper are listed here.
"""

from __future__ import annotations

import pandas as pd

SOURCE = ("Korshunov & Marcel (2018), DeepfakeTIMIT: VidTIMIT, 32 people, 16 look-alike pairs chosen by hand, "
          "64 px (lq) and 128 px (hq) swap models, their own protocol")
OUR_FACENET = ("swaplab's FaceNet is InceptionResNetV1 trained on VGGFace2 (512-d embeddings); "
               "the study's FaceNet may differ")

# (system, tier) -> IAPMR at the licit-EER threshold
IAPMR = {("VGG-Face", "lq"): 0.8875, ("VGG-Face", "hq"): 0.8562,
         ("FaceNet", "lq"): 0.9438, ("FaceNet", "hq"): 0.9500}
LICIT_EER = {"VGG-Face": 0.0003, "FaceNet": 0.0}
# (detector, tier) -> detection EER
DETECTION_EER = {("IQM+SVM", "lq"): 0.0333, ("IQM+SVM", "hq"): 0.0897, ("lip-sync", "lq"): 0.418}

# swaplab registry name -> the study's system it stands for
STUDY_SYSTEM = {"facenet": "FaceNet", "facenet-cv2": "FaceNet", "iqm-svm": "IQM+SVM", "lipsync": "lip-sync"}


def published_iapmr(backend: str, tier: str) -> float | None:
    """The study's IAPMR for the system ``backend`` stands for, on ``tier``; None when not published."""
    return IAPMR.get((STUDY_SYSTEM.get(backend, ""), tier))


def published_detection_eer(detector: str, tier: str) -> float | None:
    return DETECTION_EER.get((STUDY_SYSTEM.get(detector, ""), tier))


def published_table() -> pd.DataFrame:
    """Every published figure, one row per system x tier (fractions, NaN where not published)."""
    rows = [{"system": system, "task": "face recognition", "tier": tier, "licit_eer": LICIT_EER[system],
             "iapmr": value, "detection_eer": float("nan")} for (system, tier), value in IAPMR.items()]
    rows += [{"system": system, "task": "deepfake detection", "tier": tier, "licit_eer": float("nan"),
              "iapmr": float("nan"), "detection_eer": value} for (system, tier), value in DETECTION_EER.items()]
    return pd.DataFrame(rows)
