"""The detector plug-in point's registry (detectors register here as they land)."""

from swaplab.registry import Registry

DETECTORS: Registry = Registry("detector")
