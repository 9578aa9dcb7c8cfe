"""Digibench station agent: inspect, wipe, flash, grade and report donated laptops."""

__version__ = "0.1.0"
