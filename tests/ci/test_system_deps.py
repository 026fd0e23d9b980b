"""``.ci/system_deps.py`` asks apt only for what is missing: chromium, never npm."""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "system_deps.py"
_spec = importlib.util.spec_from_file_location("system_deps", SCRIPT)
assert _spec is not None and _spec.loader is not None
system_deps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(system_deps)


def _which(programs: set[str]):
    return lambda name: f"/usr/bin/{name}" if name in programs else None


def test_a_machine_without_chromium_asks_only_for_chromium():
    assert system_deps.missing_packages(_which({"node", "npm"})) == ["chromium"]
    assert system_deps.missing_packages(_which(set())) == ["chromium"]  # no npm: not needed


def test_nothing_missing_installs_nothing():
    assert system_deps.missing_packages(_which({"chromium"})) == []
    assert system_deps.apt_commands([]) == []


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
