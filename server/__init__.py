"""Digibench central server (Django); see the server issue. Installed with the `server` extra."""
