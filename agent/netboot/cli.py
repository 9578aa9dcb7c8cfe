"""``digibench netboot``: the bench server, its dnsmasq config, and a laptop joining it."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from agent.cli import summary
from agent.errors import DigibenchError, InputError

EXIT_OK = 0
JOIN_WAIT_S = 180.0


def _cmd_serve(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.netboot.cache import FileCache
    from agent.netboot.laptop_config import read_laptops
    from agent.netboot.server import DEFAULT_ALLOW, Bench, keep_delivering, make_server
    from agent.netboot.sessions import Sessions
    from agent.signing import PRIVATE_KEY_NAME, load_private_key
    from agent.uplink.client import Uploader
    from agent.uplink.config import uplink_config
    from agent.uplink.outbox import Outbox

    logging.getLogger().setLevel(logging.INFO)
    config = load_config(args.config)
    key_file = config.key_dir / PRIVATE_KEY_NAME
    if not key_file.is_file():
        raise InputError(
            f"{key_file}: the bench station has no key",
            hint="pair this bench server first (digibench enrol), as a stick would",
        )
    manifest = None
    images_dir = args.images
    if config.image.source and "://" not in config.image.source:
        source = Path(config.image.source)
        manifest = source.name
        images_dir = images_dir or source.parent
    state = args.state or config.station.data_dir / "netboot"
    bench = Bench(
        config_path=args.config.resolve(),
        config=config,
        key=load_private_key(key_file),
        public_url=args.public_url.rstrip("/"),
        live=FileCache(args.live, state / "cache" / "live"),
        images=FileCache(images_dir or state / "no-images", state / "cache" / "images"),
        ipxe=FileCache(args.ipxe, state / "cache" / "ipxe") if args.ipxe.is_dir() else None,
        image_manifest=manifest,
        sessions=Sessions(state / "sessions.json"),
        laptops=read_laptops(args.laptops),
        outbox=Outbox(config.outbox_dir),
        uploader=Uploader(uplink_config(config)),
        kernel_args=args.kernel_args,
        allow=[ipaddress.ip_network(n) for n in (args.allow or DEFAULT_ALLOW)],
    )
    server = make_server(bench, args.host, args.port)
    stop = threading.Event()
    threading.Thread(target=keep_delivering, args=(bench, stop), daemon=True).start()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    port = server.server_address[1]
    print(f"netboot: bench server for station {config.station.name!r} on {args.host}:{port}, "
          f"laptops use {bench.public_url}", file=sys.stderr, flush=True)  # fmt: skip
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return EXIT_OK


def _cmd_dnsmasq(args: argparse.Namespace) -> int:
    from agent.netboot.ipxe import chain_script, dnsmasq_config

    text = dnsmasq_config(args.server_ip, args.port, str(args.tftp_root), args.interface)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.chain:
        url = f"http://{args.server_ip}" + (f":{args.port}" if args.port != 80 else "")
        args.chain.write_text(chain_script(url), encoding="utf-8")
    return EXIT_OK


def join(bench_url: str, mac: str, data: Path, *, wait_s: float = JOIN_WAIT_S) -> bool:
    """Ask the bench server for a session and this laptop's config; write them to ``data``.

    Tries again while the network comes up. True when the laptop is to run headless."""
    import requests  # here, not at the top: ``digibench --help`` stays fast

    deadline = time.monotonic() + wait_s
    url = bench_url.rstrip("/") + "/netboot/join"
    while True:
        try:
            resp = requests.post(url, json={"mac": mac}, timeout=30)
            if resp.status_code == 201:
                break
            problem = f"HTTP {resp.status_code}: {resp.text[:300]}"
            if 400 <= resp.status_code < 500:
                raise DigibenchError(f"the bench server refused this laptop ({problem})")
        except requests.RequestException as exc:
            problem = str(exc)
        if time.monotonic() > deadline:
            raise DigibenchError(
                f"no answer from the bench server {bench_url} ({problem})",
                hint="is the bench server running? (digibench netboot serve)",
            )
        time.sleep(3)
    answer = resp.json()
    data.mkdir(parents=True, exist_ok=True)
    config = data / "station.toml"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(answer["station_toml"])
    if answer.get("policy_toml") is not None:
        (data / "policy.toml").write_text(answer["policy_toml"], encoding="utf-8")
    return bool(answer.get("headless"))


def _cmd_join(args: argparse.Namespace) -> int:
    headless = join(args.bench, args.mac, args.data)
    print(json.dumps({"config": str(args.data / "station.toml"), "headless": headless}))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("netboot", help=summary("netboot"))
    nsub = p.add_subparsers(dest="netboot_command", required=True, metavar="ACTION")

    s = nsub.add_parser("serve", help="run the bench server (iPXE script, live system, images)")
    s.add_argument("--config", type=Path, required=True,
                   help="the bench station's config (paired: its token and key)")  # fmt: skip
    s.add_argument("--live", type=Path, required=True,
                   help="folder with the live system's vmlinuz and initrd.img")  # fmt: skip
    s.add_argument("--images", type=Path,
                   help="folder with the OS images (default: that of [image] source)")  # fmt: skip
    s.add_argument("--ipxe", type=Path, default=Path("/usr/lib/ipxe"),
                   help="iPXE binaries for UEFI HTTP boot (Debian's ipxe package)")  # fmt: skip
    s.add_argument("--laptops", type=Path, help="laptops.toml: settings per MAC address")
    s.add_argument("--state", type=Path, help="cache and sessions (default: DATA_DIR/netboot)")
    s.add_argument("--host", default="0.0.0.0", help="address to listen on")  # noqa: S104
    s.add_argument("--port", type=int, default=8067)
    s.add_argument("--public-url", required=True,
                   help="URL the laptops reach this at, e.g. http://192.168.1.5:8067")  # fmt: skip
    s.add_argument("--kernel-args", default="", help="extra kernel arguments for the laptops")
    s.add_argument("--allow", action="append",
                   help="networks that may join (default: loopback, private ranges)")  # fmt: skip
    s.set_defaults(func=_cmd_serve)

    d = nsub.add_parser("dnsmasq", help="write the dnsmasq proxy-DHCP config for this bench")
    d.add_argument("server_ip", help="this bench server's IPv4 address on the bench network")
    d.add_argument("--port", type=int, default=8067)
    d.add_argument("--interface", help="the bench network's interface (default: all)")
    d.add_argument("--tftp-root", type=Path, default=Path("/usr/lib/ipxe"))
    d.add_argument("--output", type=Path, help="write here (default: standard output)")
    d.add_argument("--chain", type=Path, help="also write an iPXE script that chains to ours")
    d.set_defaults(func=_cmd_dnsmasq)

    j = nsub.add_parser("join", help="(on a network-booted laptop) get a session and config")
    j.add_argument("bench", help="the bench server's URL (digibench.netboot= on the kernel line)")
    j.add_argument("--mac", required=True, help="this laptop's MAC address")
    j.add_argument("--data", type=Path, required=True, help="where to write the config (RAM)")
    j.set_defaults(func=_cmd_join)
