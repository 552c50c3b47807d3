"""Rendering of command results: terminal (rich), JSON, self-contained HTML."""
