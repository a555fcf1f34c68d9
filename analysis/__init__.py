"""Metrics, verdicts and attribution computed from captured attention (depends on toolkit only)."""
