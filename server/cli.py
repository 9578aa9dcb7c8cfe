"""``digibench-server``: run the central server and manage station credentials."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server.ingest.tokens import STATION_NAME

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class CliError(Exception):
    def __init__(self, message: str, *, hint: str | None = None, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


def _setup_django() -> None:
    from server.paths import data_dir, ensure_private_database, ensure_secret_key

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
    data_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_secret_key()
    if not os.environ.get("DATABASE_URL", "").strip():
        ensure_private_database()
    import django

    django.setup()


def _migrate(verbosity: int = 1) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _cmd_migrate(args: argparse.Namespace) -> int:
    _migrate()
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    if bool(args.certfile) != bool(args.keyfile):
        raise CliError("TLS needs both --certfile and --keyfile", code=EXIT_BAD_INPUT)
    _migrate(verbosity=0)
    connections.close_all()  # never share a connection with forked workers
    os.umask(0o077)  # whatever the server writes (keys, SQLite journals) is private

    host = f"[{args.host}]" if ":" in args.host else args.host
    options: dict[str, Any] = {
        "bind": f"{host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-" if args.access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "digibench-server",
        # No runtime control socket (gunicorn >= 24): one shared path per user would clash.
        "control_socket_disable": True,
    }
    if args.certfile:
        options.update(certfile=str(args.certfile), keyfile=str(args.keyfile))
    scheme = "https" if args.certfile else "http"

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from server.wsgi import application

            return application

    print(f"digibench-server: serving on {scheme}://{host}:{args.port}/", flush=True)
    _Gunicorn().run()
    return EXIT_OK


def _read_public_key(path: Path) -> str:
    from agent.errors import InputError
    from agent.signing import load_public_key, public_key_b64

    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}", code=EXIT_BAD_INPUT) from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not a text file", code=EXIT_BAD_INPUT) from exc
    try:
        return public_key_b64(load_public_key(text))
    except InputError as exc:
        raise CliError(
            f"{path}: {exc.message}",
            hint="give the station's station.pub (base64 of the raw Ed25519 key)",
            code=EXIT_BAD_INPUT,
        ) from exc


def _cmd_announce(args: argparse.Namespace) -> int:
    """Announce until stopped (SIGTERM from systemd, Ctrl+C by hand)."""
    import signal
    import threading

    from server.discovery import announced

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with announced(args.url, name=args.name):
            print(f"announcing {args.url} as {args.name!r} (_digibench._tcp)", flush=True)
            stop.wait()
    except ValueError as exc:
        print(f"digibench-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_add_station(args: argparse.Namespace) -> int:
    from django.db import IntegrityError, transaction

    from server.ingest import models, tokens

    if not STATION_NAME.match(args.name):
        raise CliError(
            f"bad station name {args.name!r}",
            hint="use letters, digits, '.', '_' or '-' (at most 128)",
            code=EXIT_BAD_INPUT,
        )
    public_key = _read_public_key(args.public_key) if args.public_key else ""
    if public_key and args.allow_unsigned:
        raise CliError(
            "--allow-unsigned is only for a station without --public-key",
            hint="a station with a key must always sign its reports",
            code=EXIT_BAD_INPUT,
        )
    new = tokens.new_token()
    try:
        with transaction.atomic():
            models.Station.objects.create(
                name=args.name,
                public_key=public_key,
                allow_unsigned=args.allow_unsigned,
                token_prefix=new.prefix,
                token_hash=new.hash,
            )
            models.AuditEvent.objects.create(
                actor="cli",
                action="station.added",
                object_type="station",
                object_id=args.name,
                details={
                    "public_key": public_key,
                    "token_prefix": new.prefix,
                    "allow_unsigned": args.allow_unsigned,
                },
            )
    except IntegrityError as exc:
        raise CliError(
            f"station {args.name!r} already exists",
            hint="pick another name, or revoke-station the old one first",
        ) from exc
    print(f"station: {args.name}")
    if public_key:
        print(f"public key: {public_key}")
    elif args.allow_unsigned:
        print("public key: none; its reports are accepted UNPROVEN and flagged")
    else:
        print("public key: none; its reports are REFUSED until a key is registered")
    print("token (shown only now; put it in the station config):")
    print(new.token)
    return EXIT_OK


def _cmd_revoke_station(args: argparse.Namespace) -> int:
    from django.db import transaction
    from django.utils import timezone

    from server.ingest import models

    with transaction.atomic():
        station = models.Station.objects.filter(name=args.name).first()
        if station is None:
            raise CliError(f"no station named {args.name!r}", code=EXIT_BAD_INPUT)
        if station.revoked_at is not None:
            print(f"station {args.name} was already revoked at {station.revoked_at:%Y-%m-%d %H:%M}")
            return EXIT_OK
        station.revoked_at = timezone.now()
        station.save(update_fields=["revoked_at"])
        models.AuditEvent.objects.create(
            actor="cli", action="station.revoked", object_type="station", object_id=args.name
        )
    print(f"station {args.name} revoked: its token is refused from now on")
    return EXIT_OK


def _cmd_suspend_station(args: argparse.Namespace) -> int:
    """As "Schorsen"/"Hervatten" in the web UI: refused (or accepted again) until changed."""
    from django.db import transaction
    from django.utils import timezone

    from server.ingest import models

    with transaction.atomic():
        station = models.Station.objects.filter(name=args.name).first()
        if station is None:
            raise CliError(f"no station named {args.name!r}", code=EXIT_BAD_INPUT)
        if station.revoked_at is not None:
            raise CliError(f"station {args.name} is revoked; pair it again", code=EXIT_BAD_INPUT)
        if (station.suspended_at is None) == args.resume:
            print(f"station {args.name} is already {'in use' if args.resume else 'suspended'}")
            return EXIT_OK
        station.suspended_at = None if args.resume else timezone.now()
        station.save(update_fields=["suspended_at"])
        action = "station.resumed" if args.resume else "station.suspended"
        models.AuditEvent.objects.create(
            actor="cli", action=action, object_type="station", object_id=args.name
        )
    print(f"station {args.name} {'is in use again' if args.resume else 'suspended'}")
    return EXIT_OK


def _cmd_list_stations(args: argparse.Namespace) -> int:
    from server.ingest import models

    for st in models.Station.objects.order_by("name"):
        state = "revoked" if st.revoked_at else "suspended" if st.suspended_at else "active"
        key = "key" if st.public_key else "no-key"
        if st.allow_unsigned:
            key += ",unsigned-allowed"
        print(f"{st.name}\t{state}\t{key}\tdgb_{st.token_prefix}_...")
    return EXIT_OK


def _cmd_verify_audit(args: argparse.Namespace) -> int:
    from server.ingest import audit_chain, models

    events = models.AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    count = 0
    first = None
    for brk in audit_chain.find_breaks(events):
        count += 1
        if first is None:
            first = brk
            print(
                f"audit event #{brk.event_id} ({brk.at:%Y-%m-%d %H:%M:%S}, {brk.action}) "
                f"{brk.reason}",
                file=sys.stderr,
            )
    total = models.AuditEvent.objects.count()
    if first is not None:
        print(
            f"digibench-server: audit chain BROKEN: first at event #{first.event_id}, "
            f"{count} broken link(s) in {total} events",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    print(f"audit chain intact: {total} events")
    return EXIT_OK


def _cmd_verify_signatures(args: argparse.Namespace) -> int:
    """Check every stored report's signatures again, as the server did when they arrived."""
    from server.ingest import models, record_signatures

    problems = 0
    for problem in record_signatures.recheck_all():
        problems += 1
        print(problem, file=sys.stderr)
    total = models.Run.objects.count()
    if problems:
        print(
            f"digibench-server: {problems} stored signature problem(s) in {total} reports",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    print(f"signatures intact: {total} reports, {models.ErasureRecord.objects.count()} records")
    return EXIT_OK


def _cmd_backup(args: argparse.Namespace) -> int:
    from server import backup

    try:
        manifest = backup.backup(args.dest)
    except backup.BackupError as exc:
        raise CliError(exc.message, hint=exc.hint) from exc
    print(f"backup written to {args.dest} ({len(manifest['files'])} files)")
    return EXIT_OK


def _cmd_restore(args: argparse.Namespace) -> int:
    from server import backup

    try:
        backup.restore(args.src)
    except backup.BackupError as exc:
        raise CliError(exc.message, hint=exc.hint) from exc
    print(f"restored from {args.src}; check it with: digibench-server verify-audit")
    return EXIT_OK


def _cmd_createsuperuser(args: argparse.Namespace) -> int:
    # call_command, not execute_from_command_line: the latter closes every database
    # connection when it ends, which breaks a caller's transaction (and tests on PostgreSQL).
    from django.core.management import CommandError, call_command

    try:
        call_command("createsuperuser", *args.rest)
    except CommandError as exc:
        print(f"digibench-server: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digibench-server",
        description="Digibench central server. Data: $DATABASE_URL, else SQLite in "
        "$DIGIBENCH_DATA_DIR (default ./var).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="create or update the database tables")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("serve", help="migrate, then serve with gunicorn")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")
    p.add_argument("--certfile", type=Path, metavar="FILE", help="TLS certificate (PEM)")
    p.add_argument("--keyfile", type=Path, metavar="FILE", help="TLS private key (PEM)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser(
        "announce", help="announce the server on the local network (mDNS _digibench._tcp)"
    )
    p.add_argument("--url", required=True, help="the address stations pair with (https://...)")
    p.add_argument("--name", default="Digibench", help="the name stations show (default Digibench)")
    p.set_defaults(func=_cmd_announce)

    p = sub.add_parser("add-station", help="register a station; prints its token once")
    p.add_argument("name")
    p.add_argument("--public-key", type=Path, metavar="FILE", help="the station's station.pub")
    p.add_argument(
        "--allow-unsigned",
        action="store_true",
        help="no key: accept its reports unproven (flagged everywhere); never for a real bench",
    )
    p.set_defaults(func=_cmd_add_station)

    p = sub.add_parser("revoke-station", help="refuse a station's token from now on")
    p.add_argument("name")
    p.set_defaults(func=_cmd_revoke_station)

    p = sub.add_parser("suspend-station", help="refuse a station's reports until resumed")
    p.add_argument("name")
    p.add_argument("--resume", action="store_true", help="take the station back into use")
    p.set_defaults(func=_cmd_suspend_station)

    p = sub.add_parser("list-stations", help="list stations (never their tokens)")
    p.set_defaults(func=_cmd_list_stations)

    p = sub.add_parser("verify-audit", help="check the audit log's hash chain; 1 if broken")
    p.set_defaults(func=_cmd_verify_audit)

    p = sub.add_parser(
        "verify-signatures",
        help="check every stored report and erasure record signature again; 1 if one fails",
    )
    p.set_defaults(func=_cmd_verify_signatures)

    p = sub.add_parser("backup", help="database, keys and certificates into a new folder")
    p.add_argument("dest", type=Path, metavar="DEST")
    p.set_defaults(func=_cmd_backup)

    p = sub.add_parser("restore", help="load a backup into a fresh data folder or database")
    p.add_argument("src", type=Path, metavar="SRC")
    p.set_defaults(func=_cmd_restore)

    p = sub.add_parser("createsuperuser", help="make an admin login (Django's command)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options for Django's command")
    p.set_defaults(func=_cmd_createsuperuser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["createsuperuser"]:  # Django parses its own options
        args = argparse.Namespace(command=argv[0], func=_cmd_createsuperuser, rest=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    if args.command == "serve" and getattr(args, "certfile", None):
        os.environ.setdefault("DIGIBENCH_TLS", "1")  # secure cookies, HSTS
    try:
        _setup_django()
        if args.command != "serve" and args.command != "migrate":
            _migrate(verbosity=0)
        code: int = args.func(args)
    except CliError as exc:
        print(f"digibench-server: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"digibench-server: hint: {exc.hint}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
