"""The ``xlquote`` command. Each module in this package that defines ``register(subparsers)``
adds one subcommand; the handler it sets as ``run`` returns the exit status
(0 ok, 1 finished with flags or a failed optional step, 2 bad input)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from ..engine.errors import InputError, XlquoteError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlquote", description="Quoting and billing for IT-support businesses.")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        if hasattr(loaded, "register"):
            loaded.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"xlquote: {exc}", file=sys.stderr)
        return 2
    except XlquoteError as exc:
        print(f"xlquote: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xlquote: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
