"""Manifests, dataset layouts and the embedded public-domain sample."""
