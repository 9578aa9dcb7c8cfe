"""Image tests: boot what `make os-image` / `make live-image` built, under QEMU.

They are slow (minutes of software emulation), so they run only when asked for
with ``-m images`` (``make test-images``; the hook is in tests/conftest.py);
otherwise, and whenever the images, root or QEMU are missing, they are skipped,
never failed.
"""
