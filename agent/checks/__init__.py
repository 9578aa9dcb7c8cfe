"""Device checks a technician does before a laptop goes to a resident (issue #19)."""
