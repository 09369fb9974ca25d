"""`mailprobe serve` and `mailprobe keys create|list|revoke`: parsers and runs.

Only argparse and light engine modules load at import; FastAPI and uvicorn load inside `serve`,
with a clear message when the `server` extra is not installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config import Config
    from engine.service.settings import Settings

COMMANDS = frozenset({"serve", "keys"})

SERVE_EPILOG = """\
Every route but /healthz needs an API key: make one with `mailprobe keys create --name NAME`
(--admin lets it manage keys too). The web console is at /console/: sign in there with a key.
The data directory holds one SQLite database (keys, jobs, results, webhook deliveries); jobs
left unfinished by a stop or a crash resume when the service starts again.
"""


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """The engine settings `verify` takes (flags, --config FILE, MAILPROBE_* variables), so
    `serve` builds its Config the same way."""
    from engine.cli import add_engine_options as add

    add(parser)


def engine_config(args: argparse.Namespace) -> Config:
    """The engine's Config: defaults < config file < MAILPROBE_* variables < flags."""
    from engine.cli import config_from_args

    return config_from_args(args)


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where the service keeps its database (default: ~/.local/share/mailprobe)",
    )


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve` and `keys` to the mailprobe command's subcommands."""
    s = sub.add_parser(
        "serve",
        help="run the HTTP verification service",
        description="Run the HTTP verification service: a native API and vendor-compatible faces.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8025, help="port (default 8025; 0 picks one)")
    _data_dir_option(s)
    s.add_argument("--rate", type=float, default=20.0, help="requests per second per key (20)")
    s.add_argument("--burst", type=int, default=40, help="requests at once per key (40)")
    s.add_argument("--window", type=int, default=2000, help="addresses of a job in flight (2000)")
    s.add_argument("--max-running-jobs", type=int, default=4, help="jobs run at once (4)")
    s.add_argument(
        "--verify-wait", type=float, default=30.0, help="seconds a check waits by default (30)"
    )
    s.add_argument(
        "--slow-after",
        type=float,
        default=5.0,
        help="seconds a check may take, with no row of its job settling, before the job "
        "shows it as waiting on a slow server instead of an ETA (5)",
    )
    s.add_argument(
        "--allow-private-callbacks",
        action="store_true",
        help="let webhooks reach private and loopback addresses (refused by default)",
    )
    s.add_argument(
        "--webhook-backoff",
        default="5,300,1800,7200",
        help="seconds between the 5 attempts of a webhook, comma-separated (5,300,1800,7200)",
    )
    add_engine_options(s)

    k = sub.add_parser("keys", help="create, list and revoke API keys")
    ks = k.add_subparsers(dest="keys_command", required=True)
    c = ks.add_parser("create", help="make a key; prints it alone on stdout (only this once)")
    c.add_argument("--name", required=True, help="a name to list and revoke it by")
    c.add_argument(
        "--admin",
        action="store_true",
        help="the key may also list, create and revoke keys over HTTP (/v1/keys, the console)",
    )
    _data_dir_option(c)
    ls = ks.add_parser("list", help="list keys (names and dates; keys are stored hashed)")
    _data_dir_option(ls)
    r = ks.add_parser("revoke", help="revoke a key by name")
    r.add_argument("name")
    _data_dir_option(r)


def _data_dir(args: argparse.Namespace) -> Path:
    from engine.service.settings import default_data_dir

    return Path(args.data_dir) if args.data_dir else default_data_dir()


def settings_from_args(args: argparse.Namespace) -> Settings:
    from engine.service.settings import Settings

    try:
        backoff = tuple(float(x) for x in str(args.webhook_backoff).split(",") if x.strip())
    except ValueError as exc:
        raise ValueError("--webhook-backoff takes seconds separated by commas") from exc
    return Settings(
        data_dir=_data_dir(args),
        rate_per_s=args.rate,
        burst=args.burst,
        window=args.window,
        max_running_jobs=args.max_running_jobs,
        verify_wait_s=args.verify_wait,
        allow_private_callbacks=args.allow_private_callbacks,
        webhook_backoff_s=backoff,
        slow_after_s=args.slow_after,
    )


def run(args: argparse.Namespace) -> int:
    """Run `serve` or `keys`; returns the exit code."""
    level = logging.WARNING - 10 * min(getattr(args, "verbose", 0), 2)
    logging.basicConfig(level=level, format="mailprobe: %(levelname)s: %(message)s")
    if args.command == "keys":
        return _keys(args)
    return _serve(args)


def _keys(args: argparse.Namespace) -> int:
    from engine.service.keys import KeyProblem, create_key, list_keys, revoke_key
    from engine.service.store import Store

    store = Store(_data_dir(args))
    try:
        if args.keys_command == "create":
            print(create_key(store, args.name, admin=args.admin))
        elif args.keys_command == "list":
            import datetime

            for record in list_keys(store):
                made = datetime.datetime.fromtimestamp(record.created).isoformat(timespec="seconds")
                state = "active" if record.revoked is None else "revoked"
                role = "\tadmin" if record.admin else ""
                print(f"{record.name}\t{state}\tcreated {made}{role}")
        else:
            revoke_key(store, args.name)
            print(f"mailprobe: revoked {args.name}", file=sys.stderr)
    except KeyProblem as exc:
        print(f"mailprobe: error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close_sync()
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from engine.service.app import create_app
    except ImportError as exc:
        print(
            f"mailprobe: `serve` needs the server extra ({exc.name} is missing): "
            "pip install 'mailprobe[server]'",
            file=sys.stderr,
        )
        return 2
    import socket

    from engine.cli import UsageError
    from engine.service.runtime import Service

    try:
        config = engine_config(args)
        settings = settings_from_args(args)
    except (UsageError, ValueError) as exc:
        print(f"mailprobe: error: {exc}", file=sys.stderr)
        return 2
    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: a response's headers and body are written
        # separately, and Nagle's algorithm would hold the body for the client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"mailprobe: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    app = create_app(Service(config, settings))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    print(f"mailprobe: serving on http://{shown}:{port} (data in {settings.data_dir})",
          file=sys.stderr, flush=True)  # fmt: skip
    server.run(sockets=[sock])
    return 0
