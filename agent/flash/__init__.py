"""Flash the standard OS image: stream, write mapped ranges, read back, fit, provision."""
