"""Installs the system programs the tests need, and only those that are missing.

The tests open pages in a real browser (``chromium``) and the docs fetch the widget renderer
from the npm registry (``npm``). A machine may already have Node.js with its own ``npm``
(nodesource's ``nodejs`` bundles it): Debian's ``npm`` package conflicts with that ``nodejs``, so
it is asked for only when neither ``npm`` nor ``node`` is there (it then brings Debian's
``nodejs``), or next to a Debian ``nodejs``.

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


def _dpkg_version(package: str) -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def missing_packages(
    which: Callable[[str], str | None] = shutil.which,
    dpkg_version: Callable[[str], str | None] = _dpkg_version,
) -> list[str]:
    """The Debian packages to install on this machine, none of them already satisfied.

    Args:
        which: Finds a program on ``PATH`` (``shutil.which``; tests pass a fake).
        dpkg_version: The installed version of a Debian package, or ``None``.

    Returns:
        Package names for ``apt-get install`` (empty when everything is there).

    Raises:
        SystemExit: When ``node`` is there without ``npm`` and is not Debian's ``nodejs``
            (installing Debian's ``npm`` would conflict with it).
    """
    packages = []
    if which("chromium") is None:
        packages.append("chromium")
    if which("npm") is None:
        node = which("node") or which("nodejs")
        nodejs = dpkg_version("nodejs")
        if node is None or (nodejs is not None and "nodesource" not in nodejs):
            packages.append("npm")
        else:
            raise SystemExit(
                f"{node} has no npm next to it, and Debian's npm would conflict with it: "
                "install the npm that belongs to that Node.js (for nodesource: reinstall nodejs)"
            )
    return packages


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
