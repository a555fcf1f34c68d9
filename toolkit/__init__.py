"""Prompt front end, models, attention modulation and capture (the lowest layer)."""
