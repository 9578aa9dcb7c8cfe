"""Report ingest: stations, devices, runs and what the runs found, plus the audit log."""
