"""Adapters that feed rlvet from the libraries people already train with (SB3, TRL)."""
