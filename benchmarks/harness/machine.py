"""What machine and software a run was measured on."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return out.stdout.strip()


def gpus() -> list[str]:
    """GPU names from ``nvidia-smi`` (empty when there is none)."""
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def machine_info() -> dict:
    """The machine, the date and the project's commit.

    Returns:
        A JSON-serialisable dict.
    """
    memory_kib = _first("/proc/meminfo", "MemTotal").split()
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor(),
        "cpus": os.cpu_count(),
        "memory_gib": round(int(memory_kib[0]) / 2**20, 1) if memory_kib else None,
        "gpus": gpus(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def versions(*names: str) -> dict[str, str]:
    """Installed versions of distributions in this environment (missing ones left out)."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found
