"""The 139 image-quality measures (IQM) of the study's baseline detector.

Input: an RGB face crop, uint8 (H, W, 3). Grey values are BT.601 luma on the
0-255 scale (Y = 16 + 65.481 R + 128.553 G + 24.966 B, R, G, B in [0, 1]).

Galbally et al. 2014, "Image quality assessment for fake biometric detection", IEEE TIP 23(2)
(18 full-reference measures of the grey image I against a Gaussian-smoothed copy G,
3x3 window, sigma 0.5, symmetric borders; D = I - G):

 0 MSE    mean(D^2)
 1 PSNR   10 log10(255^2 / MSE)
 2 AD     mean(I - G) over the interior, where G needs no border padding (see below)
 3 SC     sum(I^2) / sum(G^2)
 4 NK     sum(I G) / sum(I^2)
 5 MD     max |D|
 6 LMSE   sum((L(I) - L(G))^2) / sum(L(I)^2), L the 3x3 Laplacian
 7 NAE    sum |D| / sum |I|
 8 SNRv   10 log10(sum(I^2) / sum(D^2))
 9 RAMDv  mean of the 10 largest |D|
10 MAS    1 - mean over rows of (2/pi) angle(I_row, G_row)
11 MAMS   mean over rows of 1 - (1 - 2 theta/pi)(1 - ||D_row|| / (255 sqrt(W)))
12 SME    sum((|F(I)| - |F(G)|)^2) / pixels, F the real 2-D FFT
13 GME    mean ||grad I| - |grad G||
14 GPE    mean |angle(grad I) - angle(grad G)|
15 SSIM   Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, L = 255
16 VIF    Sheikh & Bovik 2006, pixel-domain VIF over 4 scales, sigma_n^2 = 2
17 HLFI   |E_low - E_high| / E of |FFT(I)| (centred), E_low over the central 15 % of columns

Wen, Han & Jain 2015, "Face spoof detection with image distortion analysis", IEEE TIFS 10(4)
(121 no-reference measures):

18-20   specular reflection: share of specular pixels (between 1.5x and 4x the mean specular
        component), their mean / 150 and std / 150. The specular component is taken as
        min(R, G, B), the achromatic part that Tan & Ikeuchi's specular-free image removes
        (their iterative diffuse separation is not reproduced).
21-35   chromatic moments of H (shifted by 0.5, wrapped), S and V: mean, std, skewness, and the
        shares of pixels in the lowest and highest two of 20 equal bins
36-135  colour diversity: the 100 largest bins of the normalised 32x32x32 RGB histogram
136     colour diversity: number of most popular colours covering 99 % of pixels / 2000
137     blurriness, Crete et al. 2007 (no-reference blur effect, 9-tap averaging filter)
138     blurriness, Marziliano et al. 2002: mean width of vertical edges / 30

AD: the paper defines AD = (1/N) sum(I - G). Over the whole image with symmetric borders, as
bob.ip.qualitymeasure computes it (``convolve2d(..., boundary='symm')``), that is 0 for every image:
a normalised Gaussian preserves the sum, and mirrored borders give back what leaves the edge. We
compute it on the interior pixels, where G is made from real neighbours only (no padding): there
it equals -(sigma_k^2 / 2) x the mean Laplacian of I plus higher-order terms (sigma_k^2 the
kernel's variance), a measure of mean intensity curvature that varies between images.

Where the reference implementation (bob.ip.qualitymeasure) departs from the papers
(grey scale in [0, 1] against a 255 peak, an SSIM variance typo, HLFI on the un-centred
spectrum, a square root in RAMD), we follow the papers.
"""

from __future__ import annotations

import cv2
import numpy as np

GALBALLY = ("MSE", "PSNR", "AD", "SC", "NK", "MD", "LMSE", "NAE", "SNRv", "RAMDv", "MAS", "MAMS", "SME",
            "GME", "GPE", "SSIM", "VIF", "HLFI")
WEN = (("spec_ratio", "spec_mean", "spec_std")
       + tuple(f"{c}_{m}" for c in "hsv" for m in ("mean", "std", "skew", "low", "high"))
       + tuple(f"colour_top{k:03d}" for k in range(100)) + ("colour_count", "blur_crete", "blur_marziliano"))
FEATURE_NAMES = GALBALLY + WEN
EPS = 1e-10


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma on the 0-255 scale, float64 (H, W)."""
    x = rgb.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """Normalised 2-D Gaussian (size x size), as Matlab's fspecial('gaussian')."""
    half = (size - 1) / 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    kernel = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return kernel / kernel.sum()


def filter_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlation with a symmetric kernel, same size, symmetric (reflect) borders."""
    return cv2.filter2D(image, cv2.CV_64F, kernel, borderType=cv2.BORDER_REFLECT)


def filter_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlation with a symmetric kernel, 'valid' part only; Gaussian (rank-1) kernels run separably."""
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    u, singular, vt = np.linalg.svd(kernel)
    if singular[1:].sum() < 1e-12 * singular[0]:
        column, row = u[:, 0] * np.sqrt(singular[0]), vt[0] * np.sqrt(singular[0])
        full = cv2.sepFilter2D(image, cv2.CV_64F, row, column, borderType=cv2.BORDER_CONSTANT)
    else:
        full = cv2.filter2D(image, cv2.CV_64F, kernel, borderType=cv2.BORDER_CONSTANT)
    return full[ry:full.shape[0] - ry, rx:full.shape[1] - rx]


# --- Galbally et al. --------------------------------------------------------------------------

def angle_measures(ref: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """MAS and MAMS with image rows as vectors."""
    cos = np.sum(ref * test, axis=1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(test, axis=1), EPS)
    angle = 2 / np.pi * np.arccos(np.clip(cos, -1, 1))
    magnitude = np.linalg.norm(ref - test, axis=1) / (255 * np.sqrt(ref.shape[1]))
    return float(1 - angle.mean()), float(np.mean(1 - (1 - angle) * (1 - magnitude)))


def gradient_measures(ref: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """GME and GPE from central-difference gradients."""
    gy_r, gx_r = np.gradient(ref)
    gy_t, gx_t = np.gradient(test)
    magnitude = np.abs(np.hypot(gx_r, gy_r) - np.hypot(gx_t, gy_t)).mean()
    phase = np.abs(np.arctan2(gy_r, gx_r) - np.arctan2(gy_t, gx_t)).mean()
    return float(magnitude), float(phase)


def ssim_index(ref: np.ndarray, test: np.ndarray) -> float:
    window = gaussian_kernel(11, 1.5)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_r, mu_t = filter_valid(ref, window), filter_valid(test, window)
    var_r = filter_valid(ref * ref, window) - mu_r**2
    var_t = filter_valid(test * test, window) - mu_t**2
    cov = filter_valid(ref * test, window) - mu_r * mu_t
    value = ((2 * mu_r * mu_t + c1) * (2 * cov + c2)) / ((mu_r**2 + mu_t**2 + c1) * (var_r + var_t + c2))
    return float(value.mean())


def vif(ref: np.ndarray, test: np.ndarray, noise: float = 2.0) -> float:
    """Pixel-domain visual information fidelity (Sheikh & Bovik), 4 scales."""
    numerator = denominator = 0.0
    for scale in range(1, 5):
        size = 2 ** (5 - scale) + 1
        window = gaussian_kernel(size, size / 5)
        if scale > 1:
            ref, test = filter_valid(ref, window)[::2, ::2], filter_valid(test, window)[::2, ::2]
        if min(ref.shape) < size:
            break
        mu_r, mu_t = filter_valid(ref, window), filter_valid(test, window)
        var_r = np.maximum(filter_valid(ref * ref, window) - mu_r**2, 0)
        var_t = np.maximum(filter_valid(test * test, window) - mu_t**2, 0)
        cov = filter_valid(ref * test, window) - mu_r * mu_t
        gain = cov / (var_r + EPS)
        noise_var = var_t - gain * cov
        gain[var_r < EPS], noise_var[var_r < EPS] = 0, var_t[var_r < EPS]
        var_r[var_r < EPS] = 0
        gain[var_t < EPS], noise_var[var_t < EPS] = 0, 0
        noise_var[gain < 0], gain[gain < 0] = var_t[gain < 0], 0
        noise_var = np.maximum(noise_var, EPS)
        numerator += np.sum(np.log10(1 + gain**2 * var_r / (noise_var + noise)))
        denominator += np.sum(np.log10(1 + var_r / noise))
    return float(numerator / denominator) if denominator > 0 else 1.0


def high_low_frequency_index(ref: np.ndarray) -> float:
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(ref)))
    width = spectrum.shape[1]
    half_band = max(1, int(round(0.15 * width / 2)))
    centre = width // 2
    low = spectrum[:, centre - half_band:centre + half_band].sum()
    total = spectrum.sum()
    return float(abs(low - (total - low)) / max(total, EPS))


def average_difference(ref: np.ndarray, kernel: np.ndarray | None = None) -> float:
    """AD: mean of I - G over the interior, where the smoothed G uses no padded border pixels.

    On the whole image with mirrored borders AD is identically 0 (see the module docstring).
    """
    kernel = gaussian_kernel(3, 0.5) if kernel is None else kernel
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    inner = ref[ry:ref.shape[0] - ry, rx:ref.shape[1] - rx]
    return float(np.mean(inner - filter_valid(ref, kernel))) if inner.size else 0.0


def galbally_features(grey: np.ndarray) -> np.ndarray:
    """The 18 Galbally measures of a grey image (H, W) on the 0-255 scale."""
    ref = grey.astype(np.float64)
    test = filter_same(ref, gaussian_kernel(3, 0.5))
    diff = ref - test
    sum_ref_sq, sum_diff_sq = np.sum(ref**2), max(np.sum(diff**2), EPS)
    mse = sum_diff_sq / ref.size
    laplace = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)
    lap_ref, lap_test = filter_same(ref, laplace), filter_same(test, laplace)
    mas, mams = angle_measures(ref, test)
    sme = np.sum((np.abs(np.fft.rfft2(ref)) - np.abs(np.fft.rfft2(test))) ** 2) / ref.size
    gme, gpe = gradient_measures(ref, test)
    return np.array([
        mse, 10 * np.log10(255**2 / mse), average_difference(ref), sum_ref_sq / max(np.sum(test**2), EPS),
        np.sum(ref * test) / max(sum_ref_sq, EPS), np.abs(diff).max(),
        np.sum((lap_ref - lap_test) ** 2) / max(np.sum(lap_ref**2), EPS),
        np.abs(diff).sum() / max(np.abs(ref).sum(), EPS), 10 * np.log10(max(sum_ref_sq, EPS) / sum_diff_sq),
        np.sort(np.abs(diff).ravel())[-10:].mean(), mas, mams, sme, gme, gpe, ssim_index(ref, test),
        vif(ref, test), high_low_frequency_index(ref)], dtype=np.float64)


# --- Wen et al. -------------------------------------------------------------------------------

def specular_features(rgb: np.ndarray) -> np.ndarray:
    specular = rgb.min(axis=2).astype(np.float64)
    mean = specular.mean()
    chosen = specular[(specular >= 1.5 * mean) & (specular < 4.0 * mean)]
    if chosen.size == 0:
        return np.zeros(3)
    return np.array([chosen.size / specular.size, chosen.mean() / 150, chosen.std() / 150])


def channel_moments(channel: np.ndarray) -> np.ndarray:
    """Mean, std, skewness and the shares in the lowest / highest two of 20 bins, channel in [0, 1]."""
    mean, std = channel.mean(), channel.std()
    skew = np.mean(((channel - mean) / std) ** 3) if std > 0 else 0.0
    counts = np.bincount(np.clip((channel * 20).astype(np.int64), 0, 19).ravel(), minlength=20) / channel.size
    return np.array([mean, std, skew, counts[:2].sum(), counts[-2:].sum()])


def chromatic_moments(rgb: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2HSV).astype(np.float64)
    hue = hsv[..., 0] / 360.0 + 0.5
    hue[hue >= 1.0] -= 1.0
    return np.concatenate([channel_moments(hue), channel_moments(hsv[..., 1]), channel_moments(hsv[..., 2])])


def colour_diversity(rgb: np.ndarray) -> np.ndarray:
    bins = (rgb.astype(np.int64) // 8).reshape(-1, 3)
    counts = np.bincount(bins[:, 0] * 1024 + bins[:, 1] * 32 + bins[:, 2], minlength=32**3)
    ranked = np.sort(counts)[::-1] / bins.shape[0]
    covering = int(np.searchsorted(np.cumsum(ranked), 0.99) + 1)
    return np.concatenate([ranked[:100], [covering / 2000.0]])


def crete_blur(grey: np.ndarray) -> float:
    """Crete et al. 2007: the share of the image's own variation that a 9-tap blur does not
    remove, for the blurrier of the two directions (0 sharp .. 1 blurred); directions without
    any variation are skipped."""
    image = grey.astype(np.float64)
    kernel = np.ones((1, 9)) / 9
    results = []
    for axis, blurred in ((0, filter_same(image, kernel.T)), (1, filter_same(image, kernel))):
        d_image = np.abs(np.diff(image, axis=axis))
        total = d_image.sum()
        if total > 0:
            variation = np.maximum(d_image - np.abs(np.diff(blurred, axis=axis)), 0)
            results.append((total - variation.sum()) / total)
    return float(max(results)) if results else 1.0


def _run_starts(rows: np.ndarray, rising: bool) -> np.ndarray:
    """For each column p, the first column of the monotone run that ends at p (going left)."""
    out = np.zeros(rows.shape, np.int64)
    for p in range(1, rows.shape[1]):
        keeps = rows[:, p] >= rows[:, p - 1] if rising else rows[:, p] <= rows[:, p - 1]
        out[:, p] = np.where(keeps, out[:, p - 1], p)
    return out


def marziliano_blur(grey: np.ndarray) -> float:
    """Mean width (px) of vertical edges: from each edge pixel to the ends of the monotone
    intensity runs around it along its row (Marziliano et al. 2002)."""
    image = grey.astype(np.float64)
    gx = np.abs(cv2.Sobel(image, cv2.CV_64F, 1, 0, ksize=3))
    left, right = np.roll(gx, 1, axis=1), np.roll(gx, -1, axis=1)
    edges = (gx > 4 * gx.mean()) & (gx >= left) & (gx >= right)
    edges[:, [0, -1]] = False
    rows, cols = np.nonzero(edges)
    if rows.size == 0:
        return 0.0
    up_left, down_left = _run_starts(image, True), _run_starts(image, False)
    flipped = image[:, ::-1]
    width = image.shape[1]
    up_right = width - 1 - _run_starts(flipped, True)[:, ::-1]
    down_right = width - 1 - _run_starts(flipped, False)[:, ::-1]
    here = image[rows, cols]
    start = np.where(here > image[rows, cols - 1], up_left[rows, cols - 1], down_left[rows, cols - 1])
    end = np.where(here > image[rows, cols + 1], up_right[rows, cols + 1], down_right[rows, cols + 1])
    return float(np.mean(end - start))


def wen_features(rgb: np.ndarray) -> np.ndarray:
    """The 121 Wen measures of an RGB uint8 image (H, W, 3)."""
    grey = luma(rgb)
    return np.concatenate([specular_features(rgb), chromatic_moments(rgb), colour_diversity(rgb),
                           [crete_blur(grey), marziliano_blur(grey) / 30.0]])


def iqm_features(rgb: np.ndarray) -> np.ndarray:
    """All 139 measures (see the module docstring for the order), float64 (139,)."""
    features = np.concatenate([galbally_features(luma(rgb)), wen_features(rgb)])
    return np.nan_to_num(features, nan=0.0, posinf=1e6, neginf=-1e6)
