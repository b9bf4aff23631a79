"""Permis."""
