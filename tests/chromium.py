"""The system chromium every browser test drives, and the flags it needs on a closed network."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
"""Debian's chromium (``make system-deps``); never a browser Playwright downloads."""
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Headless as root, with no background connection that the closed network would refuse."""
