"""Write the manifest the flash engine reads (agent/flash/manifest.py) for a built image.

Run with the project's Python: ``python images/write_manifest.py RAW ZST BMAP NAME VERSION``.
Using the agent's own model means a manifest that the engine would refuse cannot be written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agent.flash.manifest import describe_image, dump_manifest, sibling_manifest


def main(argv: list[str]) -> int:
    raw, zst, bmap = (Path(a) for a in argv[1:4])
    name, version = argv[4], argv[5]
    manifest = describe_image(raw, zst, bmap, name, version)
    out = sibling_manifest(zst)
    out.write_text(dump_manifest(manifest))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
