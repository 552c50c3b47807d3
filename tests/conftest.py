"""Shared pytest configuration: quiet Gymnasium deprecation chatter in test output."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=".*out of date.*")
