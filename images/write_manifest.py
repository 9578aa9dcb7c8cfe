"""Write the manifest the flash engine reads (agent/flash/manifest.py) for a built image.

Run with the project's Python: ``python images/write_manifest.py RAW ZST BMAP NAME VERSION``.
Using the agent's own model means a manifest that the engine would refuse cannot be written.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from agent.flash.manifest import Manifest, dump_manifest, sibling_manifest


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    raw, zst, bmap = (Path(a) for a in argv[1:4])
    name, version = argv[4], argv[5]
    manifest = Manifest(
        name=name,
        version=version,
        size=raw.stat().st_size,
        sha256=sha256(raw),
        image=zst.name,
        bmap=bmap.name,
        compression="zst",
        bmap_sha256=sha256(bmap),
        compressed_size=zst.stat().st_size,
        compressed_sha256=sha256(zst),
    )
    out = sibling_manifest(zst)
    out.write_text(dump_manifest(manifest))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
