"""The `mailprobe` command: the CLI's subcommands (engine.cli) plus the service's (`serve`, `keys`)
and `verify --ray` (engine.scaleout).

A rung above the faces, so the CLI itself never imports the service or the scale-out; the
service's heavy libraries load only when `serve` runs, Ray only when `--ray` is given.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import cli
from engine.service import command as service_command


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mailprobe` command; returns the exit code."""
    parser = cli.build_parser(service_command.add_parsers)
    args = parser.parse_args(argv)
    if args.command in service_command.COMMANDS:
        return service_command.run(args)
    if args.command == "verify" and args.ray is not None:
        from engine.scaleout.command import online_run  # Ray itself loads only when it runs

        return cli.main(argv, online=online_run(args))
    return cli.main(argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
