"""Image tests: boot what `make os-image` / `make live-image` built, under QEMU.

They are slow (minutes of software emulation), so they run only when asked for
with ``-m images`` (``make test-images``; the hook is in tests/conftest.py) and are
deselected otherwise. Once asked for, a missing image, root or QEMU fails them with
the install hint (a proof that skipped proved nothing).
"""
