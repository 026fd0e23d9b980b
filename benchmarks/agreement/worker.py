"""Runs reference implementations in their virtualenv and saves their maps.

``method_agreement.py`` starts it with the reference's interpreter::

    python benchmarks/agreement/worker.py --dir DIR NAME [NAME ...]

For each comparison ``NAME`` it writes ``DIR/NAME-theirs.npy`` (the maps) and
``DIR/NAME-theirs.json`` (the library versions, the time taken and the notes of the run, or the
error that stopped it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agreement import Inputs, find, save_maps


def _versions(packages: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    inputs = Inputs(args.dir)
    for name in args.names:
        comparison = find(name)
        start = time.perf_counter()
        try:
            maps = comparison.theirs(inputs)
            notes = {
                **inputs.notes,
                "status": "ok",
                "seconds": round(time.perf_counter() - start, 2),
                "versions": _versions(comparison.packages),
            }
        except Exception as error:  # recorded: one broken reference must not stop the others
            maps = []
            notes = {"status": "error", "error": traceback.format_exception_only(error)[-1]}
        save_maps(args.dir, name, "theirs", maps, notes)
        print(f"{name}: {notes['status']}", flush=True)


if __name__ == "__main__":
    main()
