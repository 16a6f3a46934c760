"""Moved to :mod:`spikernn.app.cli` (the application layer); this name stays for existing imports."""
from spikernn.app.cli import app, main  # noqa: F401

__all__ = ["app", "main"]
