"""Reusable test helpers for real resources: driver contexts, network namespaces, loop images."""
