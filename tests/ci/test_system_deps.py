"""``.ci/system_deps.py`` asks apt only for what is missing, never for a conflicting package."""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "system_deps.py"
_spec = importlib.util.spec_from_file_location("system_deps", SCRIPT)
assert _spec is not None and _spec.loader is not None
system_deps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(system_deps)


def _machine(programs: set[str], nodejs: str | None = None):
    def which(name: str) -> str | None:
        return f"/usr/bin/{name}" if name in programs else None

    def dpkg_version(package: str) -> str | None:
        return nodejs if package == "nodejs" else None

    return {"which": which, "dpkg_version": dpkg_version}


def test_nodesource_node_with_npm_and_no_chromium_asks_only_for_chromium():
    machine = _machine({"node", "npm"}, nodejs="20.20.2-1nodesource1")
    assert system_deps.missing_packages(**machine) == ["chromium"]


def test_nothing_missing_installs_nothing():
    machine = _machine({"node", "npm", "chromium"}, nodejs="20.20.2-1nodesource1")
    assert system_deps.missing_packages(**machine) == []
    assert system_deps.apt_commands([]) == []


def test_bare_machine_gets_chromium_and_debian_npm():
    assert system_deps.missing_packages(**_machine(set())) == ["chromium", "npm"]


def test_debian_nodejs_without_npm_gets_debian_npm():
    machine = _machine({"node", "chromium"}, nodejs="18.19.0+dfsg-6~deb12u2")
    assert system_deps.missing_packages(**machine) == ["npm"]


def test_nodesource_node_without_npm_is_refused_not_broken():
    machine = _machine({"node", "chromium"}, nodejs="20.20.2-1nodesource1")
    with pytest.raises(SystemExit, match="Debian's npm would conflict"):
        system_deps.missing_packages(**machine)


def test_dry_run_on_a_simulated_machine_names_no_installed_package(tmp_path: Path):
    """The real script, with a PATH that holds ``node`` and ``npm`` but no chromium."""
    for program in ("node", "npm"):
        fake = tmp_path / program
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path)},
        check=True,
    )
    (install,) = [line for line in result.stdout.splitlines() if " install " in line]
    packages = install.split("--no-install-recommends")[1].split()
    assert packages == ["chromium"]
