"""The ``.. saliency-grid::`` directive: saliency maps computed at build time, cached by content.

.. code-block:: rst

    .. saliency-grid::
       :model: saliency_widgets.zoo:load_shapes_model
       :images: _static/samples/*.png
       :preprocess: saliency_widgets.zoo:preprocess
       :class-names: saliency_widgets.zoo:class_names
       :method: gradients
       :classes: top-3
       :cols: 4

       Optional caption.

Enable it with ``extensions = ["sphinxext.saliency_grid"]`` (the repository root on
``sys.path``). This module parses options, resolves paths, decides from content hashes whether a
grid must be computed, builds ``figure``/``image`` nodes and reports problems as located
warnings. The maps and the picture come from :mod:`saliency_widgets.grid`, imported only when a
grid has to be computed, so TensorFlow is never loaded by ``setup()`` or by a build whose grids
are all cached (and never before Sphinx forks for ``-j``).
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.directives.patches import Figure
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from saliency_widgets._grid_inputs import GridError, is_reference, reference_module
from saliency_widgets._grid_options import INPUT_HELP, GridOptions
from sphinxext.saliency_grid import _cache as cache
from sphinxext.saliency_grid import _files as grid_files
from sphinxext.saliency_grid import _paths as paths
from sphinxext.saliency_grid._explorer import explorer_directive
from sphinxext.saliency_grid._paths import Setting

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.util.typing import ExtensionMetadata

logger = logging.getLogger(__name__)

__version__ = "1.0"

INPUT_OPTIONS = (*INPUT_HELP, "depends")
"""Options naming inputs (files or ``module:attribute`` references); ``depends`` lists more
files whose change should recompute the grid."""
GRID_OPTIONS = GridOptions.KEYS
"""Options parsed by :meth:`saliency_widgets.grid.GridOptions.from_strings`."""
FIGURE_OPTIONS = tuple(name for name in Figure.option_spec if name != "target")
"""Options of Sphinx's ``figure`` directive, handled by it (``:target:`` makes no sense here)."""
DEFAULTS_KEY = "saliency_grid_defaults"
"""``env.temp_data`` key of the current page's ``saliency-grid-defaults``."""


class SaliencyGridError(ExtensionError):
    """A grid failed and ``saliency_grid_raise_errors`` is true."""

    category = "saliency-grid error"


class _Problem(Exception):
    """An input problem found before any computation (reported as a warning)."""


class SaliencyGridDefaults(SphinxDirective):
    """``.. saliency-grid-defaults::`` sets options for the following grids of the same page."""

    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {
        name: directives.unchanged_required for name in INPUT_OPTIONS + GRID_OPTIONS
    }

    def run(self) -> list[nodes.Node]:
        """Stores the options for the rest of the page (``env.temp_data`` is per document)."""
        defaults = cast(dict[str, Setting], self.env.temp_data.setdefault(DEFAULTS_KEY, {}))
        docname = self.env.docname
        defaults.update({name: Setting(value, docname) for name, value in self.options.items()})
        return []


class SaliencyGrid(SphinxDirective):
    """``.. saliency-grid::`` embeds a grid of saliency maps as a figure."""

    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        name: directives.unchanged_required
        for name in INPUT_OPTIONS + GRID_OPTIONS + FIGURE_OPTIONS
    }

    def run(self) -> list[nodes.Node]:
        """Builds the nodes; any failure becomes one warning located at the directive."""
        try:
            return self._build()
        except Exception as error:  # every failure becomes one located warning
            return self._report(error)

    def _build(self) -> list[nodes.Node]:
        """The figure, computing the grid only when no cached file has its hash."""
        return self._figure()

    # settings -----------------------------------------------------------------------------

    def _settings(self) -> dict[str, Setting]:
        """Each option's text and the folder its paths are relative to (option > page > conf).

        Paths in ``conf.py`` values are relative to the source directory; paths in options are
        relative to the document, or to the source directory when they start with ``/``.
        """
        config = self.config
        merged: dict[str, Setting] = {}
        for name, value in config.saliency_grid_defaults.items():
            merged[name] = Setting(str(value))
        for name in ("model", "images", "preprocess", "class_names"):
            value = getattr(config, f"saliency_grid_{name}")
            if value:
                merged[name.replace("_", "-")] = Setting(str(value))
        merged.update(self.env.temp_data.get(DEFAULTS_KEY) or {})
        docname = self.env.docname
        merged.update({name: Setting(value, docname) for name, value in self.options.items()})
        return merged

    # inputs and cache ---------------------------------------------------------------------

    def _figure(self) -> list[nodes.Node]:
        figure_options = self._figure_options()  # bad figure options fail before any computing
        settings = self._settings()
        srcdir = Path(self.env.srcdir)
        inputs, payload, files = self._inputs(settings, srcdir)
        engine = cache.engine_files()
        for path in [*files, *engine]:
            self.env.note_dependency(path)
        options = {
            name: paths.normalise(settings[name].text) for name in GRID_OPTIONS if name in settings
        }
        payload.update(options=options, engine=cache.digests(engine), versions=cache.versions())
        png = grid_files.cache_dir(self.env) / f"saliency-grid-{cache.key(payload)}.png"
        sidecar = png.with_suffix(".json")
        if png.is_file() and sidecar.is_file():
            info = json.loads(sidecar.read_text(encoding="utf-8"))
            logger.verbose("saliency-grid: %s is up to date", png.name)
        else:
            info = self._compute(inputs, options, png, sidecar)
        figure_options.setdefault("alt", _alt(info))
        result = self._figure_nodes(
            "/" + Path(os.path.relpath(png, srcdir)).as_posix(), figure_options
        )
        grid_files.note_used(self.env, self.env.docname, png)
        return result  # only now is the name set: a failed grid leaves no target behind

    def _inputs(
        self, settings: dict[str, Setting], srcdir: Path
    ) -> tuple[dict[str, Any], dict[str, Any], list[Path]]:
        """Resolves input options to what :func:`make_grid` takes, their fingerprints and files."""
        inputs: dict[str, Any] = {}
        payload: dict[str, Any] = {}
        files: list[Path] = []
        for name in ("model", "images"):
            if name not in settings:
                raise _Problem(
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
                    raise _Problem(f"{name}: cannot find module {reference_module(text)!r}")
                inputs[name], fingerprint = text, [paths.normalise(text), cache.digests(found)]
            elif name == "preprocess":
                raise _Problem(f"preprocess: {text!r} is not a module:function reference")
            elif name == "class-names" and not text.lower().endswith((".json", ".txt")):
                inputs[name], fingerprint, found = text, paths.normalise(text), []
            elif name in ("images", "depends"):
                found = self._glob(setting, srcdir, images=name == "images")
                inputs[name], fingerprint = [str(p) for p in found], cache.digests(found)
                fingerprint = [[p.name, d] for p, (_, d) in zip(found, fingerprint, strict=True)]
            else:
                path = setting.path(self.env)
                if not path.is_file():
                    raise _Problem(f"{name} file not found: {path}")
                found = [path]
                inputs[name], fingerprint = str(path), cache.digests(found)
            payload[name] = fingerprint
            files.extend(found)
        return inputs, payload, files

    def _glob(self, setting: Setting, srcdir: Path, images: bool) -> list[Path]:
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
                raise _Problem(f"no {kind} matches {pattern!r} (looked for {full})")
            found.extend(path for path in matches if path not in found)
        return found

    def _compute(
        self, inputs: dict[str, Any], options: dict[str, str], png: Path, sidecar: Path
    ) -> dict[str, Any]:
        """Computes one grid (the only place TensorFlow gets imported) and caches it."""
        from saliency_widgets import grid

        start = time.perf_counter()
        image_bytes, result = grid.make_grid(
            model=inputs["model"],
            images=inputs["images"],
            options=grid.GridOptions.from_strings(options),
            preprocess=inputs.get("preprocess"),
            class_names=inputs.get("class-names"),
            base=self.env.doc2path(self.env.docname).parent,
        )
        info = {
            "method": result.method,
            "names": list(result.names),
            "titles": [list(titles) for titles in result.titles],
        }
        cache.atomic_write(sidecar, json.dumps(info, indent=1).encode())
        cache.atomic_write(png, image_bytes)
        logger.info(
            "saliency-grid: computed %s for %s (%d images, %.1f s)",
            png.name,
            self.get_location(),
            len(result.names),
            time.perf_counter() - start,
        )
        return info

    # nodes and problems -------------------------------------------------------------------

    def _figure_options(self) -> dict[str, Any]:
        """The figure options, converted by docutils' own ``figure`` converters.

        Converted before anything is computed, so a bad ``:width:`` costs no grid and is
        reported like every other problem: one located warning.
        """
        converted = {
            name: _checked(name, self.options[name], Figure.option_spec[name])
            for name in FIGURE_OPTIONS
            if name in self.options
        }
        converted["figclass"] = [*converted.get("figclass", []), "saliency-grid"]
        return converted

    def _figure_nodes(self, uri: str, options: dict[str, Any]) -> list[nodes.Node]:
        """Sphinx's ``figure`` directive, run on the grid's picture: caption, legend, name."""
        figure = Figure(
            self.name,
            [uri],
            options,
            self.content,
            self.lineno,
            self.content_offset,
            self.block_text,
            self.state,
            self.state_machine,
        )
        result: list[nodes.Node] = figure.run()
        problems = [node for node in result if isinstance(node, nodes.system_message)]
        if problems:  # e.g. a caption that is not a paragraph
            raise _Problem(problems[0].astext().splitlines()[0].strip())
        return result

    def _report(self, error: Exception) -> list[nodes.Node]:
        known = isinstance(error, _Problem | GridError)
        message = "saliency-grid: " + (str(error) if known else f"{type(error).__name__}: {error}")
        if self.config.saliency_grid_raise_errors:
            raise SaliencyGridError(f"{self.get_location()}: {message}") from error
        logger.warning(
            message, location=(self.env.docname, self.lineno), type="saliency_grid", subtype="error"
        )
        self.env.note_reread()  # a failed grid warns again on the next build until it is fixed
        return []


def _checked(name: str, value: str, convert: Any) -> Any:
    try:
        return convert(value)
    except ValueError as error:
        raise _Problem(f"{name}: {error}") from None


def _alt(info: dict[str, Any], limit: int = 400) -> str:
    """Alt text that says what the picture shows: method, images and their top classes."""
    described = "; ".join(
        f"{name}: {', '.join(titles)}"
        for name, titles in zip(info["names"], info["titles"], strict=True)
    )
    text = f"{info['method']} saliency maps of {len(info['names'])} images ({described})"
    return text if len(text) <= limit else text[: limit - 2] + "…)"


def setup(app: Sphinx) -> ExtensionMetadata:
    """Registers the directives and their ``conf.py`` values.

    Args:
        app: The Sphinx application.

    Returns:
        Extension metadata: parallel reading and writing are safe.
    """
    for name in ("model", "images", "preprocess", "class_names"):
        app.add_config_value(f"saliency_grid_{name}", None, "env", types=frozenset({str}))
    app.add_config_value("saliency_grid_defaults", {}, "env", types=frozenset({dict}))
    app.add_config_value("saliency_grid_cache_dir", None, "env", types=frozenset({str}))
    app.add_config_value("saliency_grid_raise_errors", False, "", types=frozenset({bool}))
    app.add_directive("saliency-grid", SaliencyGrid)
    app.add_directive("saliency-grid-defaults", SaliencyGridDefaults)
    app.add_directive("saliency-explorer", explorer_directive(SaliencyGrid))
    app.connect("env-purge-doc", paths.WATCHED_GLOBS.purge)
    app.connect("env-merge-info", paths.WATCHED_GLOBS.merge)
    app.connect("env-get-outdated", paths.pages_whose_globs_changed)
    app.connect("env-purge-doc", grid_files.USED_FILES.purge)
    app.connect("env-merge-info", grid_files.USED_FILES.merge)
    app.connect("env-get-outdated", grid_files.pages_missing_files)
    counter = grid_files.WarningCounter()
    app.connect("builder-inited", functools.partial(grid_files.watch_warnings, counter=counter))
    app.connect("build-finished", functools.partial(grid_files.prune_cache, counter=counter))
    return {
        "version": __version__,
        "env_version": grid_files.ENV_VERSION,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
