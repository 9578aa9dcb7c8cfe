"""The station config a network-booted laptop runs with, made by the bench server.

It is the bench station's own config with what must differ: the laptop keeps its data
in RAM (``data_dir = "."`` next to the file it is written to), talks to the bench server
instead of the central server (with its session token, never the station's), signs
through it, and fetches the OS image from it. Per-laptop settings (an asset tag and
consent for an unattended run, or the TUI) come from the bench's ``laptops.toml``, keyed
by the laptop's network card (MAC address).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.config import HeadlessSection, StationConfig
from agent.errors import InputError
from agent.tomlfile import invalid, read_toml

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
#: config keys that name files on the bench server: a laptop cannot read them
_BENCH_ONLY_TESTING = ("profile_root", "smart_fixtures")


def normal_mac(value: str) -> str:
    """``52-54-00-AB-CD-EF`` or ``52:54:00:ab:cd:ef`` as ``52:54:00:ab:cd:ef``; else InputError."""
    mac = value.strip().lower().replace("-", ":")
    if not MAC.match(mac):
        raise InputError(f"{value!r} is not a MAC address")
    return mac


class LaptopSettings(BaseModel):
    """One laptop's entry in laptops.toml."""

    model_config = ConfigDict(extra="forbid")

    #: run unattended (needs asset_tag, and confirm_wipe for an intake run)
    headless: bool = False
    headless_settings: HeadlessSection = Field(default_factory=HeadlessSection, alias="run")


def read_laptops(path: Path | None) -> dict[str, LaptopSettings]:
    """laptops.toml: ``["52:54:00:12:34:56"]`` tables with ``headless`` and a ``run`` table
    (``asset_tag``, ``confirm_wipe``, ``cosmetic``, as [headless] in a station config)."""
    if path is None:
        return {}
    laptops: dict[str, LaptopSettings] = {}
    for key, value in read_toml(path, "laptop list").items():
        mac = normal_mac(key)
        try:
            laptops[mac] = LaptopSettings.model_validate(value)
        except ValidationError as exc:
            raise invalid(path, f"laptop list entry {key}", exc) from exc
    return laptops


@dataclass(frozen=True)
class LaptopConfig:
    station_toml: str
    policy_toml: str | None
    headless: bool


def laptop_config(
    bench_config: Path,
    *,
    bench_url: str,
    token: str,
    image_manifest: str | None,
    settings: LaptopSettings | None,
) -> LaptopConfig:
    """What a laptop joining with ``token`` writes to its RAM disk and runs with."""
    raw: dict[str, Any] = copy.deepcopy(read_toml(bench_config, "station config"))
    bench = StationConfig.model_validate(raw)  # a bad bench config fails here, not on a laptop
    raw.setdefault("station", {})["data_dir"] = "."
    raw["server"] = {"url": bench_url, "token": token, "timeout_s": bench.server.timeout_s}
    raw["netboot"] = {"bench": bench_url}
    raw.pop("storage", None)
    image = raw.setdefault("image", {})
    if image_manifest:
        image["source"] = f"{bench_url}/images/{image_manifest}"
    else:
        image.pop("source", None)
    testing = raw.get("testing", {})
    for key in _BENCH_ONLY_TESTING:
        testing.pop(key, None)
    chosen = settings or LaptopSettings()
    raw["headless"] = chosen.headless_settings.model_dump(exclude_none=True)
    policy_text = None
    if bench.policy is not None:
        policy_path = (
            bench.policy if bench.policy.is_absolute() else bench_config.parent / bench.policy
        )
        try:
            policy_text = policy_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{policy_path}: cannot read the policy: {exc.strerror}") from None
        raw["policy"] = "policy.toml"
    StationConfig.model_validate(raw)  # what the laptop will load must load
    return LaptopConfig(tomlkit.dumps(raw), policy_text, chosen.headless)
