"""Figures and HTML/PDF reports built from analysis results."""
