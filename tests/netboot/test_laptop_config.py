"""The config a network-booted laptop gets: the bench's, minus what must stay on the bench."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import StationConfig, load_config
from agent.errors import InputError
from agent.netboot.keys import station_key
from agent.netboot.laptop_config import laptop_config, normal_mac, read_laptops


def _bench(tmp_path: Path) -> Path:
    config = tmp_path / "station.toml"
    config.write_text(
        '[station]\nname = "bench-3"\ndata_dir = "."\n'
        '[server]\nurl = "https://central.example.org"\ntoken = "STATION-SECRET"\n'
        '[storage]\nfallback_dir = "/mnt/spare"\n'
        '[headless]\nasset_tag = "DB-BENCH"\nconfirm_wipe = true\n'
    )
    return config


def test_the_laptop_never_sees_the_station_token_or_bench_paths(tmp_path: Path) -> None:
    made = laptop_config(
        _bench(tmp_path), bench_url="http://10.1.1.1:8067", token="SESSION",
        image_manifest=None, settings=None,
    )  # fmt: skip
    assert "STATION-SECRET" not in made.station_toml
    assert "/mnt/spare" not in made.station_toml
    (tmp_path / "ram").mkdir()
    path = tmp_path / "ram" / "station.toml"
    path.write_text(made.station_toml)
    config = load_config(path)
    assert config.server.token == "SESSION" and config.netboot.bench == "http://10.1.1.1:8067"
    assert config.station.data_dir == path.parent.resolve()
    # without settings for this laptop: the TUI, and no consent from the bench's own config
    assert made.headless is False
    assert config.headless.asset_tag is None and config.headless.confirm_wipe is False
    assert config.image.source is None and made.policy_toml is None


def test_laptops_toml(tmp_path: Path) -> None:
    path = tmp_path / "laptops.toml"
    path.write_text('["52-54-00-AB-CD-EF"]\nheadless = true\nrun = { asset_tag = "DB-1" }\n')
    laptops = read_laptops(path)
    assert list(laptops) == ["52:54:00:ab:cd:ef"]
    assert laptops["52:54:00:ab:cd:ef"].headless_settings.asset_tag == "DB-1"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('["not-a-mac"]\nheadless = true\n', "not a MAC address"),
        ('["52:54:00:ab:cd:ef"]\nheadles = true\n', "headles"),
        ('["52:54:00:ab:cd:ef"]\nrun = { cosmetic = "X9" }\n', "cosmetic"),
        ("[[[", "not valid TOML"),
    ],
)
def test_bad_laptops_toml_is_a_clear_error(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "laptops.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=words):
        read_laptops(path)


def test_mac_forms() -> None:
    assert normal_mac(" 52:54:00:AB:CD:EF ") == "52:54:00:ab:cd:ef"
    with pytest.raises(InputError):
        normal_mac("${netX/mac}")  # iPXE did not expand it


def test_a_netbooted_laptop_needs_its_session(tmp_path: Path) -> None:
    config = StationConfig.model_validate(
        {"station": {"data_dir": str(tmp_path)}, "netboot": {"bench": "http://10.1.1.1"}}
    )
    with pytest.raises(InputError, match="session token"):
        station_key(config)
    assert not (tmp_path / "keys").exists()  # no key made on the laptop


def test_a_stick_signs_with_its_own_key(tmp_path: Path) -> None:
    config = StationConfig.model_validate({"station": {"data_dir": str(tmp_path)}})
    station_key(config)
    assert (tmp_path / "keys" / "station.key").exists()
