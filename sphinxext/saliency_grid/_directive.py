"""The pipeline both directives share: settings → inputs → hash → cache → compute → nodes.

A :class:`ComputedDirective` names its output files by the hash of everything that determines
them (options, input bytes, the files behind references, the engine's sources, library
versions), as ``sphinx.ext.graphviz`` does, so an unchanged directive is never computed twice and
a warm build never imports TensorFlow. A subclass says what it computes (:meth:`compute`) and
which nodes show it (:meth:`output_nodes`); everything else lives here: option merging
(option > ``saliency-grid-defaults`` > ``conf.py``), path resolution, dependencies, atomic
writes, the per-page record that pruning reads, and one located warning per failure.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar, cast

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from saliency_widgets._grid_options import INPUT_HELP, SWITCHES, GridOptions
from saliency_widgets._messages import InputError
from saliency_widgets._named_inputs import is_reference, reference_module
from sphinxext.saliency_grid import _cache as cache
from sphinxext.saliency_grid import _files as grid_files
from sphinxext.saliency_grid import _paths as paths
from sphinxext.saliency_grid._paths import Setting

logger = logging.getLogger(__name__)

INPUT_OPTIONS = (*INPUT_HELP, "depends")
"""Options naming inputs (files or ``module:attribute`` references); ``depends`` lists more
files whose change should recompute the output."""
GRID_OPTIONS = GridOptions.KEYS
"""Options parsed by :meth:`saliency_widgets.grid.GridOptions.from_strings`."""
DEFAULTS_KEY = "saliency_grid_defaults"
"""``env.temp_data`` key of the current page's ``saliency-grid-defaults``."""


class SaliencyGridError(ExtensionError):
    """A directive failed and ``saliency_grid_raise_errors`` is true."""

    category = "saliency-grid error"


class Problem(Exception):
    """An input problem found before any computation (reported as a warning)."""


def text_options(names: tuple[str, ...], switches: tuple[str, ...] = SWITCHES) -> dict[str, Any]:
    """An ``option_spec`` taking each of ``names`` as text (parsed later, with located errors).

    A switch (``:metrics:``, one of ``switches``) may be given without a value: its text is then
    empty, which :meth:`~saliency_widgets.grid.GridOptions.from_strings` reads as on.
    """
    return {
        name: directives.unchanged if name in switches else directives.unchanged_required
        for name in names
    }


class SaliencyGridDefaults(SphinxDirective):
    """``.. saliency-grid-defaults::`` sets options for the following directives of the page."""

    has_content = False
    option_spec: ClassVar[dict[str, Any]] = text_options(INPUT_OPTIONS + GRID_OPTIONS)

    def run(self) -> list[nodes.Node]:
        """Stores the options for the rest of the page (``env.temp_data`` is per document)."""
        defaults = cast(dict[str, Setting], self.env.temp_data.setdefault(DEFAULTS_KEY, {}))
        docname = self.env.docname
        defaults.update({name: Setting(value, docname) for name, value in self.options.items()})
        return []


class ComputedDirective(SphinxDirective):
    """A directive whose output is computed at build time and cached by the hash of its inputs.

    Subclasses set :attr:`kind`, :attr:`suffixes` and :attr:`computed_options`, and implement
    :meth:`compute` and :meth:`output_nodes` (and :meth:`check_options` for options checked before
    anything is computed, :meth:`extra_files` for more files the output depends on).
    """

    has_content = True
    kind: ClassVar[str]
    """File name prefix and warning prefix: ``saliency-grid``, ``saliency-explorer``."""
    suffixes: ClassVar[tuple[str, ...]]
    """The files one computation writes; the first is the one shown (and logged)."""
    computed_options: ClassVar[tuple[str, ...]] = GRID_OPTIONS
    """Options that enter the hash and reach :meth:`compute`."""

    def run(self) -> list[nodes.Node]:
        """Builds the nodes; any failure becomes one warning located at the directive."""
        try:
            return self._cached_nodes()
        except Exception as error:  # every failure becomes one located warning
            return self.report(error)

    # what a subclass says ----------------------------------------------------------------

    def check_options(self) -> None:
        """Checks options that need no computing (raise :class:`Problem`); default: none."""

    def extra_files(self) -> list[Path]:
        """Files the output depends on beyond the engine's sources; default: none."""
        return []

    def compute(
        self, inputs: dict[str, Any], options: dict[str, str]
    ) -> tuple[dict[str, bytes], str]:
        """Computes the output (the only place TensorFlow gets imported).

        Args:
            inputs: Input options resolved: file paths or references (:meth:`inputs`).
            options: :attr:`computed_options` given, as text.

        Returns:
            The bytes of each of :attr:`suffixes`, and a few words for the log (``"6 images"``).
        """
        raise NotImplementedError

    def output_nodes(self, files: dict[str, Path]) -> list[nodes.Node]:
        """The nodes showing the cached output, by suffix."""
        raise NotImplementedError

    # the pipeline --------------------------------------------------------------------------

    def _cached_nodes(self) -> list[nodes.Node]:
        """The nodes, computing the output only when no cached file has its hash."""
        self.check_options()  # e.g. a bad figure option costs no computation
        settings = self.settings()
        inputs, payload, files = self.inputs(settings)
        engine = cache.engine_files() + self.extra_files()
        for path in [*files, *engine]:
            self.env.note_dependency(path)
        options = {
            name: paths.normalise(settings[name].text)
            for name in self.computed_options
            if name in settings
        }
        payload.update(options=options, engine=cache.digests(engine), versions=cache.versions())
        stem = f"{self.kind}-{cache.key(payload)}"
        folder = grid_files.cache_dir(self.env)
        outputs = {suffix: folder / f"{stem}{suffix}" for suffix in self.suffixes}
        shown = outputs[self.suffixes[0]]
        if all(path.is_file() for path in outputs.values()):
            logger.verbose("%s: %s is up to date", self.kind, shown.name)
        else:
            start = time.perf_counter()
            data, summary = self.compute(inputs, options)
            for suffix in reversed(self.suffixes):  # the shown file last: it implies the others
                cache.atomic_write(outputs[suffix], data[suffix])
            seconds = time.perf_counter() - start
            where = self.get_location()
            logger.info(
                "%s: computed %s for %s (%s, %.1f s)",
                self.kind,
                shown.name,
                where,
                summary,
                seconds,
            )
        result = self.output_nodes(outputs)
        grid_files.note_used(self.env, self.env.docname, shown)
        return result  # only now is a name set: a failed directive leaves no target behind

    def settings(self) -> dict[str, Setting]:
        """Each option's text and the folder its paths are relative to (option > page > conf).

        Paths in ``conf.py`` values are relative to the source directory; paths in options are
        relative to the document, or to the source directory when they start with ``/``.
        """
        config = self.config
        merged: dict[str, Setting] = {}
        for name, value in config.saliency_grid_defaults.items():
            merged[name] = Setting(str(value))
        for name in ("model", "images", "preprocess", "class_names", "model_inputs"):
            value = getattr(config, f"saliency_grid_{name}")
            if value:
                merged[name.replace("_", "-")] = Setting(str(value))
        merged.update(self.env.temp_data.get(DEFAULTS_KEY) or {})
        docname = self.env.docname
        merged.update({name: Setting(value, docname) for name, value in self.options.items()})
        return merged

    def inputs(
        self, settings: dict[str, Setting]
    ) -> tuple[dict[str, Any], dict[str, Any], list[Path]]:
        """Resolves input options to what the faces take, their fingerprints and their files."""
        inputs: dict[str, Any] = {}
        payload: dict[str, Any] = {}
        files: list[Path] = []
        for name in ("model", "images"):
            if name not in settings:
                raise Problem(
                    f"no {name}: give :{name}:, set it in a saliency-grid-defaults directive, "
                    f"or set saliency_grid_{name} in conf.py"
                )
        fingerprint: Any
        for name in INPUT_OPTIONS:
            if name not in settings:
                continue
            setting = settings[name]
            text = setting.text.strip()
            if is_reference(text):
                found = cache.module_files(reference_module(text))
                if not found:
                    raise Problem(f"{name}: cannot find module {reference_module(text)!r}")
                inputs[name], fingerprint = text, [paths.normalise(text), cache.digests(found)]
            elif name in ("preprocess", "model-inputs"):
                raise Problem(f"{name}: {text!r} is not a module:function reference")
            elif name == "class-names" and not text.lower().endswith((".json", ".txt")):
                inputs[name], fingerprint, found = text, paths.normalise(text), []
            elif name in ("images", "depends"):
                found = self._glob(setting, images=name == "images")
                inputs[name] = [str(p) for p in found]
                fingerprint = [
                    [p.name, d] for p, (_, d) in zip(found, cache.digests(found), strict=True)
                ]
            else:
                path = setting.path(self.env)
                if not path.is_file():
                    raise Problem(f"{name} file not found: {path}")
                found = [path]
                inputs[name], fingerprint = str(path), cache.digests(found)
            payload[name] = fingerprint
            files.extend(found)
        return inputs, payload, files

    def _glob(self, setting: Setting, images: bool) -> list[Path]:
        """Expands whitespace-separated glob patterns to sorted files (of image types)."""
        found: list[Path] = []
        for pattern in setting.text.split():
            full = setting.path(self.env, pattern)
            matches = [Path(p) for p in paths.matches(str(full), images)]
            paths.WATCHED_GLOBS.of(self.env).setdefault(self.env.docname, []).append(
                (str(full), images, [str(path) for path in matches])
            )
            if not matches:
                kind = "image" if images else "file"
                raise Problem(f"no {kind} matches {pattern!r} (looked for {full})")
            found.extend(path for path in matches if path not in found)
        return found

    def page_folder(self) -> Path:
        """The folder relative paths in references' values are resolved against: the page's."""
        return self.env.doc2path(self.env.docname).parent

    def report(self, error: Exception) -> list[nodes.Node]:
        """One warning at the directive's line (or an error, with ``saliency_grid_raise_errors``).

        A page with a failed directive is read again on the next build, so that the warning
        stays until the problem is fixed.
        """
        known = isinstance(error, Problem | InputError)
        problem = str(error) if known else f"{type(error).__name__}: {error}"
        message = f"{self.kind}: {problem}"
        if self.config.saliency_grid_raise_errors:
            raise SaliencyGridError(f"{self.get_location()}: {message}") from error
        logger.warning(
            message, location=(self.env.docname, self.lineno), type="saliency_grid", subtype="error"
        )
        self.env.note_reread()
        return []


__all__ = [
    "DEFAULTS_KEY",
    "GRID_OPTIONS",
    "INPUT_OPTIONS",
    "ComputedDirective",
    "Problem",
    "SaliencyGridDefaults",
    "SaliencyGridError",
    "text_options",
]
