"""Cached grids that no page shows any more are deleted after a successful build.

The root ``tests/roots/test-saliency-grid-prune`` has three grids: one on ``index``, one only on
``one``, and one that ``one`` and ``two`` both show (the same options, so the same cached file).
Builds run ``sphinx-build`` in fresh interpreters (``sphinx_build`` in ``conftest.py``).
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

from sphinxext.saliency_grid import _files as grid_files

COMPUTED = re.compile(r"saliency-grid: computed (saliency-grid-\w+\.png) for (\S+):(\d+)")


def html(sphinx_build, srcdir: Path, *options: str) -> subprocess.CompletedProcess:
    return sphinx_build(*options, "-b", "html", str(srcdir), str(srcdir / "_build" / "html"))


def succeeded(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def cached(srcdir: Path) -> dict[str, int]:
    """Every file in the cache folder, with its modification time."""
    folder = srcdir / "_build" / "html" / ".doctrees" / "saliency-grid"
    return {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}


def shown(srcdir: Path, page: str) -> list[str]:
    """The grid files a built page shows (Sphinx copies them to ``_images`` by name)."""
    text = (srcdir / "_build" / "html" / f"{page}.html").read_text()
    return re.findall(r'<img alt="[^"]*" src="_images/(saliency-grid-\w+\.png)"', text)


def with_sidecars(*pngs: str) -> set[str]:
    return {name for png in pngs for name in (png, png.replace(".png", ".json"))}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_changed_option_removes_exactly_its_old_grid_and_a_failed_build_nothing(
    project, sphinx_build
):
    srcdir = project("saliency-grid-prune")
    first = succeeded(html(sphinx_build, srcdir, "-W"))
    assert len(COMPUTED.findall(first.stdout)) == 3  # the shared grid is computed once
    before = cached(srcdir)
    assert len(before) == 6  # three PNGs and their sidecars
    (old,) = shown(srcdir, "index")

    edit(srcdir / "index.rst", ":images: images/a*.png\n", ":images: images/a*.png\n   :cols: 2\n")
    second = succeeded(html(sphinx_build, srcdir, "-W"))
    (new,) = shown(srcdir, "index")
    after = cached(srcdir)
    assert new != old
    assert before.keys() - after.keys() == with_sidecars(old)
    assert after.keys() - before.keys() == with_sidecars(new)
    kept = before.keys() & after.keys()
    assert len(kept) == 4
    assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
    assert "saliency-grid: removed 1 unused grid(s) from " in second.stdout

    # -W turns the bad option into a failed build: its page shows no grid now, but nothing goes.
    edit(srcdir / "index.rst", ":cols: 2", ":overlay: 1.5")
    failed = html(sphinx_build, srcdir, "-W")
    assert failed.returncode == 1
    assert "overlay: alpha must be in [0, 1], got 1.5" in failed.stderr
    assert cached(srcdir) == after
    assert "saliency-grid: removed" not in failed.stdout


def test_removing_pages_removes_the_grids_no_other_page_shows(project, sphinx_build):
    srcdir = project("saliency-grid-prune")
    succeeded(html(sphinx_build, srcdir))
    before = cached(srcdir)
    (index,) = shown(srcdir, "index")
    (shared,) = shown(srcdir, "two")
    only_one, shared_again = shown(srcdir, "one")
    assert shared_again == shared

    (srcdir / "two.rst").unlink()
    edit(srcdir / "index.rst", "   two\n", "")
    second = succeeded(html(sphinx_build, srcdir))
    assert "0 added, 1 changed, 1 removed" in second.stdout
    assert cached(srcdir) == before  # "one" still shows the shared grid: nothing removed
    assert "saliency-grid: removed" not in second.stdout

    (srcdir / "one.rst").unlink()
    edit(srcdir / "index.rst", "   one\n", "")
    third = succeeded(html(sphinx_build, srcdir))
    assert set(cached(srcdir)) == with_sidecars(index)
    assert cached(srcdir) == {name: before[name] for name in with_sidecars(index)}
    assert only_one not in cached(srcdir) and shared not in cached(srcdir)
    assert "saliency-grid: removed 2 unused grid(s) from " in third.stdout


def test_parallel_builds_keep_every_grid_a_page_still_shows(project, sphinx_build):
    srcdir = project("saliency-grid-prune")
    first = succeeded(html(sphinx_build, srcdir, "-j", "2", "-W"))
    # Two forked readers ("index .. notes" and "one .. two"): their records reach the main
    # process only through env-merge-info, and pruning runs there.
    assert re.search(r"reading sources\.\.\. \[\s*\d+%\] one \.\. two", first.stdout)
    before = cached(srcdir)
    assert len(before) == 6
    assert "saliency-grid: removed" not in first.stdout
    (old_index,) = shown(srcdir, "index")
    (shared,) = shown(srcdir, "two")

    edits = [("index", ":images: images/a*.png\n"), ("two", ":method: input_x_gradient\n")]
    for page, line in edits:
        edit(srcdir / f"{page}.rst", line, line + "   :cols: 2\n")
    second = succeeded(html(sphinx_build, srcdir, "-j", "2", "-W"))
    (new_index,) = shown(srcdir, "index")
    (new_two,) = shown(srcdir, "two")
    after = cached(srcdir)
    # "one" was not read again; its record of the shared grid comes from the first build.
    assert before.keys() - after.keys() == with_sidecars(old_index)
    assert after.keys() - before.keys() == with_sidecars(new_index, new_two)
    assert after[shared] == before[shared]
    assert len(after) == 8
    assert "saliency-grid: removed 1 unused grid(s) from " in second.stdout


def test_only_the_directives_own_files_are_ever_candidates(tmp_path):
    key = "0123456789abcdef0123"
    for name in [
        f"saliency-grid-{key}.png",  # used
        f"saliency-grid-{key}.json",  # its sidecar
        f"saliency-grid-{'f' * 20}.png",  # unused grid and sidecar
        f"saliency-grid-{'f' * 20}.json",
        f".saliency-grid-{'e' * 20}.png.k2j4",  # another build's atomic write in progress
        f"saliency-grid-{'E' * 20}.png",  # not a key of ours
        "saliency-grid-1234.png",
        "logo.png",
        "notes.json",
    ]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / f"saliency-grid-{'d' * 20}.png").mkdir()  # a folder, not a file
    stale = grid_files.unused_files(tmp_path, {f"saliency-grid-{key}.png"})
    assert [path.name for path in stale] == [
        f"saliency-grid-{'f' * 20}.json",
        f"saliency-grid-{'f' * 20}.png",
    ]
    assert grid_files.unused_files(tmp_path / "missing", set()) == []


def test_a_build_that_raised_errored_or_warned_leaves_the_cache_alone():
    ok = SimpleNamespace(statuscode=0)
    assert not grid_files.build_failed(ok, None, warnings=0)
    assert grid_files.build_failed(ok, RuntimeError("boom"), warnings=0)
    assert grid_files.build_failed(SimpleNamespace(statuscode=1), None, warnings=0)
    assert grid_files.build_failed(ok, None, warnings=1)  # -W fails only after build-finished


def test_the_warning_counter_counts_sphinx_warnings_through_public_logging():
    counter = grid_files.WarningCounter()
    grid_files.watch_warnings(SimpleNamespace(), counter)
    try:
        logging.getLogger("sphinx.ext.something").warning("one")
        logging.getLogger("sphinx").info("not a warning")
        logging.getLogger("elsewhere").warning("not Sphinx's")
    finally:
        logging.getLogger("sphinx").removeHandler(counter)
    assert counter.count == 1
