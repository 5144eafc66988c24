"""The study's two baselines on the 139 image-quality measures: RBF SVM and PCA + LDA.

Fitted with scikit-learn; saved as plain arrays (scaler, support vectors,
dual coefficients / projections) and scored with numpy from those arrays.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.svm import SVC

from swaplab.detect.base import DETECTORS, check_labels, load_arrays, save_arrays
from swaplab.detect.iqm import iqm_features
from swaplab.core.errors import SwaplabError
from swaplab.core.progress import track


def iqm_matrix(faces: np.ndarray, size: int) -> np.ndarray:
    """139 features per face (N, 139), faces resized to ``size``."""
    rows = [iqm_features(cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA))
            for face in track(faces, "IQM features", total=len(faces))]
    return np.asarray(rows)


class _IQMBase:
    input_size: int

    def __init__(self, *, input_size: int = 128) -> None:
        self.input_size = input_size
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def settings(self) -> dict:
        return {"input_size": self.input_size}

    def _standardise(self, features: np.ndarray, fit: bool = False) -> np.ndarray:
        if fit:
            self.mean_ = features.mean(axis=0)
            self.scale_ = np.where(features.std(axis=0) > 1e-12, features.std(axis=0), 1.0)
        if self.mean_ is None:
            raise SwaplabError(f"{self.name} detector is not fitted")
        return (features - self.mean_) / self.scale_


class IQMSVM(_IQMBase):
    """Standardised IQM features, RBF SVM; score = SVM decision value (higher = fake)."""

    name = "iqm-svm"

    def __init__(self, *, input_size: int = 128, c: float = 1.0) -> None:
        super().__init__(input_size=input_size)
        self.c = c

    def settings(self) -> dict:
        return {"input_size": self.input_size, "c": self.c}

    def fit(self, faces: np.ndarray, labels: np.ndarray) -> IQMSVM:
        labels = check_labels(labels)
        x = self._standardise(iqm_matrix(faces, self.input_size), fit=True)
        svm = SVC(kernel="rbf", C=self.c, gamma="scale").fit(x, labels)
        self.support_, self.dual_ = svm.support_vectors_, svm.dual_coef_[0]
        self.intercept_, self.gamma_ = float(svm.intercept_[0]), float(svm._gamma)
        return self

    def score(self, faces: np.ndarray) -> np.ndarray:
        x = self._standardise(iqm_matrix(faces, self.input_size))
        sq = (x**2).sum(1)[:, None] + (self.support_**2).sum(1)[None, :] - 2 * x @ self.support_.T
        return np.exp(-self.gamma_ * np.maximum(sq, 0)) @ self.dual_ + self.intercept_

    def save_state(self, folder: Path) -> None:
        save_arrays(folder, mean=self.mean_, scale=self.scale_, support=self.support_, dual=self.dual_,
                    intercept=np.array(self.intercept_), gamma=np.array(self.gamma_))

    def load_state(self, folder: Path) -> None:
        a = load_arrays(folder)
        self.mean_, self.scale_, self.support_, self.dual_ = a["mean"], a["scale"], a["support"], a["dual"]
        self.intercept_, self.gamma_ = float(a["intercept"]), float(a["gamma"])


class IQMLDA(_IQMBase):
    """Standardised IQM features, PCA (99 % of variance) then LDA; score = LDA decision value."""

    name = "iqm-lda"

    def fit(self, faces: np.ndarray, labels: np.ndarray) -> IQMLDA:
        labels = check_labels(labels)
        x = self._standardise(iqm_matrix(faces, self.input_size), fit=True)
        pca = PCA(n_components=0.99, svd_solver="full").fit(x)
        lda = LinearDiscriminantAnalysis().fit(pca.transform(x), labels)
        self.pca_mean_, self.components_ = pca.mean_, pca.components_
        self.coef_, self.intercept_ = lda.coef_[0], float(lda.intercept_[0])
        return self

    def score(self, faces: np.ndarray) -> np.ndarray:
        x = self._standardise(iqm_matrix(faces, self.input_size))
        return ((x - self.pca_mean_) @ self.components_.T) @ self.coef_ + self.intercept_

    def save_state(self, folder: Path) -> None:
        save_arrays(folder, mean=self.mean_, scale=self.scale_, pca_mean=self.pca_mean_,
                    components=self.components_, coef=self.coef_, intercept=np.array(self.intercept_))

    def load_state(self, folder: Path) -> None:
        a = load_arrays(folder)
        self.mean_, self.scale_, self.pca_mean_ = a["mean"], a["scale"], a["pca_mean"]
        self.components_, self.coef_, self.intercept_ = a["components"], a["coef"], float(a["intercept"])


@DETECTORS.register("iqm-svm")
def iqm_svm(*, input_size: int = 128, c: float = 1.0) -> IQMSVM:
    return IQMSVM(input_size=input_size, c=c)


@DETECTORS.register("iqm-lda")
def iqm_lda(*, input_size: int = 128) -> IQMLDA:
    return IQMLDA(input_size=input_size)
