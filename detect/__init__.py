"""Deepfake detectors behind one small interface."""
