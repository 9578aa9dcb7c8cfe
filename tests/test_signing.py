from __future__ import annotations

import stat
from pathlib import Path

from agent.signing import load_or_create_key, public_key_b64, sign, verify


def test_sign_and_verify_roundtrip(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    doc = {"serial": "S3Z9NB0K", "result": "erased", "n": 3, "nested": {"b": 1, "a": [1, 2]}}
    sig = sign(doc, key)
    pub = public_key_b64(key)
    assert verify(doc, sig, pub)
    assert verify({**doc, "signature": sig}, sig, pub)  # the field itself is not covered
    assert not verify({**doc, "result": "failed"}, sig, pub)
    assert not verify(doc, sig[:-4] + "AAAA", pub)
    assert not verify(doc, "not base64!", pub)
    assert not verify(doc, sig, "garbage")


def test_key_is_private_and_stable(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    mode = stat.S_IMODE((tmp_path / "station.key").stat().st_mode)
    assert mode == 0o600
    assert public_key_b64(load_or_create_key(tmp_path)) == public_key_b64(key)
    assert (tmp_path / "station.pub").read_text().strip() == public_key_b64(key)
