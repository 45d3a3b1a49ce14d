"""``printserver web hash-password``: the line an administrator puts into ``[web.users]``.

The password is asked twice on a terminal (never on the command line, where ``ps`` and the
shell history would keep it), or read as one line from standard input for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from typing import Any

from printserver.cli.common import EXIT_OK, EXIT_USAGE, CliError

USER = re.compile(r"[A-Za-z0-9._@-]{1,64}")
"""User names as ``[web.users]`` accepts them (``config/sections.py``)."""


def add_parser(commands: Any) -> None:
    web = commands.add_parser("web", help="operator web console tools")
    actions = web.add_subparsers(dest="action", required=True)
    hashing = actions.add_parser(
        "hash-password", help="print a password hash for the [web.users] table"
    )
    hashing.add_argument("user", nargs="?", help='print the whole line: USER = "HASH"')


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("the passwords differ", EXIT_USAGE)
    return first


def run(args: argparse.Namespace) -> int:
    """Dispatch ``web``."""
    from printserver.web.auth import hash_password  # stdlib only: no web stack is loaded

    if args.user is not None and not USER.fullmatch(args.user):
        raise CliError("a user name is 1 to 64 of A-Z a-z 0-9 . _ @ -", EXIT_USAGE)
    password = _password()
    if not password:
        raise CliError("an empty password is not a password", EXIT_USAGE)
    encoded = hash_password(password)
    print(f'{args.user} = "{encoded}"' if args.user else encoded)
    return EXIT_OK
