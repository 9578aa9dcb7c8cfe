"""Uplink settings: command line over environment over the station config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import StationConfig, load_station_config
from agent.errors import InputError
from agent.uplink.client import Uploader
from agent.uplink.config import outbox_dir, uplink_config


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SERVER", "TOKEN", "CA_FILE", "OUTBOX", "STATION_CONFIG"):
        monkeypatch.delenv(f"DIGIBENCH_{name}", raising=False)


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    conf = tmp_path / "station.toml"
    conf.write_text(
        f'[station]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[server]\nurl = "https://conf.example"\ntoken = "dgb_conf"\nca_file = "ca.pem"\n'
    )
    config = load_station_config(conf)
    cfg = uplink_config(config)
    assert (cfg.server_url, cfg.token, cfg.ca_file) == ("https://conf.example", "dgb_conf", ca)
    assert outbox_dir(None, config) == tmp_path / "data" / "outbox"
    monkeypatch.setenv("DIGIBENCH_SERVER", "https://env.example")
    monkeypatch.setenv("DIGIBENCH_OUTBOX", str(tmp_path / "env-ob"))
    assert uplink_config(config).server_url == "https://env.example"
    assert outbox_dir(None, config) == tmp_path / "env-ob"
    assert uplink_config(config, server="http://127.0.0.1:9").server_url == "http://127.0.0.1:9"
    assert outbox_dir(tmp_path / "cli", config) == tmp_path / "cli"
    assert Uploader(cfg).verify == str(ca)


def test_missing_default_config_is_fine_but_a_named_one_is_not(tmp_path: Path):
    default = load_station_config(None)
    assert default == StationConfig() or Path("/etc/digibench/station.toml").exists()
    with pytest.raises(InputError, match="cannot read"):
        load_station_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [("[server]\nurl = ", "not valid TOML"), ("colour = 1", "invalid station config")],
)
def test_bad_config_files(tmp_path: Path, text: str, message: str):
    conf = tmp_path / "station.toml"
    conf.write_text(text)
    with pytest.raises(InputError, match=message):
        load_station_config(conf)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no server URL"),
        ({"server": "ftp://x"}, "not http"),
        ({"server": "https://x"}, "no station token"),
        ({"server": "https://x", "token": "t", "ca_file": Path("/nonexistent/ca")}, "CA file"),
    ],
)
def test_incomplete_settings_are_explained(kwargs: dict[str, object], message: str):
    with pytest.raises(InputError, match=message):
        uplink_config(StationConfig(), **kwargs)  # type: ignore[arg-type]
