"""How a face is cut and scaled before a model sees it: one record shared by extraction, FR and detectors.

Mismatched preprocessing is the most common silent failure of face models (a
detector trained on 256 px whole-face crops scored on 224 px tight crops).
Every consumer states its preprocessing with this one frozen record; a
trained detector keeps it inside its ``detector.json``, and ``detect score``
extracts faces exactly so.

>>> Preprocessing(crop_size=256, face_type="whole_face").as_dict()["crop_size"]
256
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from swaplab.core.errors import SwaplabError

NORMALISATIONS = ("none", "unit", "fixed", "prewhiten", "grey", "dlib")


@dataclass(frozen=True)
class Preprocessing:
    """The face crop a model takes.

    Attributes
    ----------
    crop_size : int
        Side (px) of the aligned crop cut from the frame (the face manifest's ``crop_size``).
    face_type : str
        Alignment template of that crop (see :mod:`swaplab.faces.align`): ``whole_face``, ``face``...
    margin : float
        Extra border the model's own input adds around the face: pixels at ``input_size`` for FaceNet
        (32 at 160), the chip padding fraction for dlib (0.25); 0 when the aligned crop is used as is.
    input_size : int
        Side (px) of the model's input after resizing; 0 when it is the crop size.
    normalisation : str
        Pixel normalisation: ``none`` (uint8 RGB), ``unit`` ([0, 1]), ``fixed`` ((x - 127.5) / 128),
        ``prewhiten`` (per-image mean/std), ``grey`` (uint8 luma), ``dlib`` (dlib's own, inside the model).
    """

    crop_size: int = 256
    face_type: str = "whole_face"
    margin: float = 0.0
    input_size: int = 0
    normalisation: str = "none"

    def __post_init__(self) -> None:
        if self.crop_size <= 0 or self.input_size < 0 or self.margin < 0:
            raise SwaplabError(f"preprocessing sizes must be positive: {self}")
        if self.normalisation not in NORMALISATIONS:
            raise SwaplabError(f"unknown normalisation {self.normalisation!r}; choose one of {NORMALISATIONS}")

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Preprocessing:
        """Rebuild from :meth:`as_dict` output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SwaplabError(f"unknown preprocessing fields {unknown}; known: {sorted(known)}")
        return cls(**values)
