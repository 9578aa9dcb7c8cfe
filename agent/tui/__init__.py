"""The station's Textual TUI: a thin driver of ``agent.pipeline.station.Pipeline``.

Only this package may import Textual or Rich (tests/test_architecture.py).
Entry point: :func:`agent.tui.app.run_station`.
"""
