"""The station configuration (TOML): who the station is, where things go, what to do.

One file for every command of the station (``run``, ``outbox``, ``upload``...).

``provisioning/station.example.toml`` documents every key. Relative paths are
taken relative to the config file, so a config on the stick's data partition
can name ``images/debian.json`` next to it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.paths import DEFAULT_CONFIG
from agent.report.schema import Mode
from agent.tomlfile import invalid, read_toml


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StationSection(_Section):
    name: str = Field(default="station", max_length=128)
    language: Literal["nl", "en"] = "nl"
    mode: Mode = Mode.INTAKE
    operator: str | None = None
    #: the stick's data partition: outbox, wipe journal, records, keys, logs, image cache
    data_dir: Path = Path("/var/lib/digibench")
    #: a bench machine whose disks are swapped: it offers "next laptop" at the end of a
    #: run; a stick that boots the laptop itself offers to switch it off instead
    swappable_disks: bool = False


class StorageSection(_Section):
    #: where the run state and reports go when the data partition fails (full, read-only)
    fallback_dir: Path | None = None


class ServerSection(_Section):
    url: str | None = None
    token: str | None = None
    ca_file: Path | None = None
    timeout_s: float = Field(default=30, gt=0)


class ImageSection(_Section):
    #: manifest (.json) path or URL of the standard OS image; empty = do not flash
    source: str | None = None
    #: "auto" (the best internal disk: NVMe, then SSD, then the largest) or a device path
    target: str = "auto"
    provision: bool = True


class WipeSection(_Section):
    pattern: Literal["zero", "random"] = "zero"
    #: read-back verification: 100 = every byte, less = that percentage, sampled
    verify_percent: float = Field(default=100.0, gt=0, le=100)
    #: how often a disk's progress is saved to the journal (what a power cut can lose)
    checkpoint_s: float = Field(default=2.0, ge=0.05, le=600)


class HeadlessSection(_Section):
    """What an unattended run uses instead of a volunteer's answers."""

    asset_tag: str | None = None
    #: the explicit consent to wipe, which the TUI gets from its confirm screen
    confirm_wipe: bool = False
    cosmetic: str | None = Field(default=None, pattern=r"^C[1-9]$")
    #: device checks the run does by itself (nobody looks or listens, so what needs a
    #: person's judgement is recorded as not judged, with what the station measured)
    checks: list[
        Literal["camera", "audio", "usb_ports", "wifi", "bluetooth", "charging", "thermal"]
    ] = Field(default_factory=list)
    #: the USB port map: how many sockets must see a stick where the firmware does not
    #: say which sockets are on the case (virtual machines, many laptops)
    usb_port_count: int = Field(default=0, ge=0, le=32)
    #: how long the USB port map waits for the insertions
    usb_timeout_s: float = Field(default=120, gt=0, le=3600)
    #: helpdesk (check mode): the resident's answers, as the TUI's consent screen asks them;
    #: each false unless set, so only the anonymous minimum reaches the server
    consent_diagnosis: bool = False
    consent_label: bool = False
    #: helpdesk: wipe and reinstall the resident's own laptop; needs refresh_copy_made (a
    #: copy of their files was made) and confirm_wipe, as the TUI's two confirmations do
    refresh: bool = False
    refresh_copy_made: bool = False


class TestingSection(_Section):
    """Only for test setups and the demo; empty on a real station."""

    __test__ = False  # not a pytest test class

    #: when set, ONLY these devices may be wiped or flashed (e.g. loop devices the
    #: test made); they are then treated as the laptop's internal disks. Each entry is
    #: a device path, ``serial:SERIAL`` or ``model:MODEL`` (virtual machines: kernel
    #: names change from boot to boot, the serials a test gave its disks do not)
    allowed_devices: list[str] = Field(default_factory=list)
    #: kernel modules to load before inspecting, each as modprobe arguments, e.g.
    #: ``[["scsi_debug", "opts=2"]]`` (a disk with injected media errors in a VM test)
    modprobe: list[list[str]] = Field(default_factory=list)
    #: read DMI, CPU, memory, battery, GPU, network, displays from this recorded tree
    profile_root: Path | None = None
    #: replay a saved smartctl output for a device: {"/dev/loop3" = "smart.json"}
    smart_fixtures: dict[str, Path] = Field(default_factory=dict)


class NetbootSection(_Section):
    """Set by the bench server for a laptop it booted from the network (docs/netboot.md)."""

    #: the bench server's URL: it signs for the station (the laptop holds no key)
    bench: str | None = None


class StationConfig(_Section):
    station: StationSection = Field(default_factory=StationSection)
    server: ServerSection = Field(default_factory=ServerSection)
    image: ImageSection = Field(default_factory=ImageSection)
    wipe: WipeSection = Field(default_factory=WipeSection)
    headless: HeadlessSection = Field(default_factory=HeadlessSection)
    testing: TestingSection = Field(default_factory=TestingSection)
    storage: StorageSection = Field(default_factory=StorageSection)
    netboot: NetbootSection = Field(default_factory=NetbootSection)
    #: policy TOML merged over the shipped default
    policy: Path | None = None

    @property
    def outbox_dir(self) -> Path:
        return self.station.data_dir / "outbox"

    @property
    def state_dir(self) -> Path:
        return self.station.data_dir / "state"

    @property
    def record_dir(self) -> Path:
        return self.station.data_dir / "records"

    @property
    def key_dir(self) -> Path:
        return self.station.data_dir / "keys"

    @property
    def cache_dir(self) -> Path:
        return self.station.data_dir / "cache"

    @property
    def stamp_dir(self) -> Path:
        """What the first flash of an image file proved, so the next laptops' flashes check
        only that the file is the same one (agent/flash/stamps.py)."""
        return self.station.data_dir / "verified"


def _relative_to(base: Path, value: Path | None) -> Path | None:
    if value is None or value.is_absolute():
        return value
    return base / value


def config_path(explicit: Path | None) -> tuple[Path, bool]:
    """The config file to read, and whether the user named it (then it must exist)."""
    if explicit is not None:
        return explicit, True
    env = os.environ.get("DIGIBENCH_STATION_CONFIG")
    if env:
        return Path(env), True
    return DEFAULT_CONFIG, False


def load_station_config(explicit: Path | None = None) -> StationConfig:
    """The station config named on the command line or in $DIGIBENCH_STATION_CONFIG.

    Without either, /etc/digibench/station.toml when it exists, else the defaults.
    """
    path, named = config_path(explicit)
    if not named and not path.exists():
        return StationConfig()
    return load_config(path)


def load_config(path: Path) -> StationConfig:
    """Read and check a station config; relative paths become relative to its folder."""
    data = read_toml(path, "station config")
    try:
        config = StationConfig.model_validate(data)
    except ValidationError as exc:
        raise invalid(path, "station config", exc) from exc
    base = path.parent.resolve()
    config.station.data_dir = _relative_to(base, config.station.data_dir) or base
    config.policy = _relative_to(base, config.policy)
    config.storage.fallback_dir = _relative_to(base, config.storage.fallback_dir)
    config.server.ca_file = _relative_to(base, config.server.ca_file)
    config.testing.profile_root = _relative_to(base, config.testing.profile_root)
    config.testing.smart_fixtures = {
        dev: _relative_to(base, p) or p for dev, p in config.testing.smart_fixtures.items()
    }
    src = config.image.source
    if src and "://" not in src and not Path(src).is_absolute():
        config.image.source = str(base / src)
    return config
