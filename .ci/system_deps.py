"""Installs the system programs the tests need, and only those that are missing.

The tests open pages in a real browser: Debian's ``chromium``. Nothing else is needed (the
docs no longer fetch a widget renderer from npm, so Node.js and npm are not asked for: Debian's
``npm`` would conflict with a nodesource ``nodejs`` anyway).

Usage: ``python3 .ci/system_deps.py [--dry-run]``. ``--dry-run`` prints the apt command (or
``nothing to install``) and changes nothing; ``make system-deps`` runs it for real.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable


def missing_packages(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The Debian packages to install on this machine, none of them already satisfied.

    Args:
        which: Finds a program on ``PATH`` (``shutil.which``; tests pass a fake).

    Returns:
        Package names for ``apt-get install`` (empty when everything is there).
    """
    return [] if which("chromium") is not None else ["chromium"]


def apt_commands(packages: list[str]) -> list[list[str]]:
    """The commands that install ``packages`` (none for an empty list)."""
    if not packages:
        return []
    return [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ]


def main(argv: list[str] | None = None) -> int:
    """Prints or runs the install commands."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    commands = apt_commands(missing_packages())
    if not commands:
        print("system-deps: nothing to install")
        return 0
    for command in commands:
        print("system-deps:", " ".join(command))
    if args.dry_run:
        return 0
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        print("system-deps: run as root (or with sudo) to install these", file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in commands:
        subprocess.run(command, check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
