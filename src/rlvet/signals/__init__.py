"""Metric streams of training runs: canonical names, series, and readers for each log format."""
