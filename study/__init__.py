"""The study: build a deepfake benchmark from indexed videos, then measure it (Korshunov & Marcel)."""
