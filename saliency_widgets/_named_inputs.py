"""Inputs named by text: ``module:callable`` references, model files, image patterns, names.

The Sphinx directives and the command line receive their model, images, preprocessing and class
names as strings. This module turns those strings into objects, with errors
(:class:`~saliency_widgets._messages.InputError`) that say which input is wrong and why;
:func:`saliency_widgets.sources.load_sources` puts them together. Nothing here imports
TensorFlow until a model is loaded.

A *reference* is ``package.module:attribute``, optionally called with literal arguments:
``saliency_widgets.zoo:load_samples(16)``, ``mypkg.models:build(width=2)``.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saliency_widgets._image_files import (
    ImageSet,
    checked_image,
    expand_patterns,
    read_image,
    resolve_path,
)
from saliency_widgets._messages import InputError

_REFERENCE = re.compile(
    r"^(?P<module>[A-Za-z_][\w.]*):(?P<attribute>[A-Za-z_][\w.]*)(?P<call>\(.*\))?$", re.DOTALL
)
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
"""Model file types :func:`load_model` accepts."""


def is_reference(text: object) -> bool:
    """Whether ``text`` reads as ``module:attribute`` or ``module:attribute(args)``.

    Args:
        text: Any value.

    Returns:
        True for a reference string; False for paths, globs and non-strings.
    """
    return isinstance(text, str) and _REFERENCE.match(text.strip()) is not None


def _literal_arguments(call: str, reference: str) -> tuple[tuple, dict[str, Any]]:
    try:
        expression = ast.parse(f"f{call}", mode="eval").body
        assert isinstance(expression, ast.Call)
        args = tuple(ast.literal_eval(a) for a in expression.args)
        kwargs = {k.arg: ast.literal_eval(k.value) for k in expression.keywords if k.arg}
    except (SyntaxError, ValueError, AssertionError) as error:
        raise InputError(
            f"{reference!r}: arguments must be Python literals, e.g. module:function(16, seed=3)"
        ) from error
    return args, kwargs


def resolve_reference(text: str) -> tuple[Any, tuple, dict[str, Any]]:
    """Imports the attribute named by a reference.

    Args:
        text: ``module:attribute`` or ``module:attribute(literal args)``.

    Returns:
        ``(attribute, args, kwargs)``; the arguments are empty when none were written.

    Raises:
        InputError: If the text is not a reference, the module cannot be imported or has no such
            attribute, or the arguments are not literals.
    """
    match = _REFERENCE.match(text.strip())
    if match is None:
        raise InputError(f"{text!r} is not a reference of the form module:attribute")
    module_name, attribute = match["module"], match["attribute"]
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"{text!r}: cannot import {module_name!r} ({error})") from error
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InputError(f"{text!r}: {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    args, kwargs = _literal_arguments(match["call"], text) if match["call"] else ((), {})
    return target, args, kwargs


def produce(text: str) -> Any:
    """The value a reference stands for: the attribute called (with its arguments) if callable.

    Args:
        text: A reference.

    Returns:
        ``attribute(*args, **kwargs)`` for a callable, else the attribute itself.

    Raises:
        InputError: As :func:`resolve_reference`, or when arguments are given to a non-callable.
    """
    target, args, kwargs = resolve_reference(text)
    if callable(target):
        return target(*args, **kwargs)
    if args or kwargs:
        raise InputError(f"{text!r}: arguments given but the attribute is not callable")
    return target


def function(text: str) -> Callable[..., Any]:
    """The function a reference names, with its literal arguments bound after the first.

    ``mypkg:preprocess(mode="torch")`` gives ``lambda images: mypkg.preprocess(images,
    mode="torch")``.

    Args:
        text: A reference to a callable.

    Returns:
        The callable.

    Raises:
        InputError: As :func:`resolve_reference`, or when the attribute is not callable.
    """
    target, args, kwargs = resolve_reference(text)
    if not callable(target):
        raise InputError(f"{text!r} is not callable")
    if not args and not kwargs:
        return target
    return lambda first: target(first, *args, **kwargs)


class ModelCache:
    """Loaded models by source, so that the grids of one process share one model.

    A model file is reloaded when its size or modification time changes; a reference is loaded
    once. The cache keeps the last ``size`` models.

    Attributes:
        loads: How many times a model was actually loaded (not served from the cache).
    """

    def __init__(self, size: int = 4) -> None:
        self._models: OrderedDict[tuple, Any] = OrderedDict()
        self._size = size
        self.loads = 0

    def get(self, source: str | Path, base: Path | None = None) -> Any:
        """The model named by ``source``, loaded on first use.

        Args:
            source: A ``.keras``/``.h5`` path or a reference to a callable returning a model.
            base: Folder that relative paths are resolved against.

        Returns:
            The ``keras.Model``.

        Raises:
            InputError: If the file is missing or unreadable, or the reference fails or does not
                give a Keras model.
        """
        key = self._key(source, base)
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        model = load_model(source, base)
        self.loads += 1
        self._models[key] = model
        while len(self._models) > self._size:
            self._models.popitem(last=False)
        return model

    def clear(self) -> None:
        """Forgets every loaded model."""
        self._models.clear()

    @staticmethod
    def _key(source: str | Path, base: Path | None) -> tuple:
        if is_reference(source):
            return ("reference", str(source).strip())
        path = resolve_path(source, base).resolve()
        try:
            stat = path.stat()
        except OSError:
            return ("file", str(path), None, None)
        return ("file", str(path), stat.st_size, stat.st_mtime_ns)


MODELS = ModelCache()
"""The process-wide model cache :func:`saliency_widgets.sources.load_sources` uses by default."""


def load_model(source: str | Path, base: Path | None = None) -> Any:
    """Loads a Keras model from a file or a reference (no caching; see :class:`ModelCache`).

    Args:
        source: A ``.keras``/``.h5`` path (relative to ``base``) or a reference such as
            ``saliency_widgets.zoo:load_shapes_model``.
        base: Folder that relative paths are resolved against.

    Returns:
        The ``keras.Model``.

    Raises:
        InputError: If the file is missing, has an unknown type or cannot be read, or the
            reference fails or does not give a Keras model.
    """
    import keras

    if is_reference(source):
        try:
            model = produce(str(source))
        except InputError:
            raise
        except Exception as error:
            message = " ".join(str(error).split())
            problem = f"{type(error).__name__}: {message}"
            raise InputError(f"model {source!r} raised {problem}") from error
    else:
        path = resolve_path(source, base)
        if not path.is_file():
            raise InputError(f"model file not found: {path}")
        if path.suffix.lower() not in MODEL_SUFFIXES:
            raise InputError(f"model file {path.name!r}: expected one of {MODEL_SUFFIXES}")
        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as error:
            raise InputError(f"cannot load model {path}: {error}") from error
    if not isinstance(model, keras.Model):
        raise InputError(f"model {source!r} gave a {type(model).__name__}, not a keras.Model")
    return model


def reference_module(text: str) -> str:
    """The module part of a ``module:attribute`` reference."""
    return text.split(":", 1)[0].strip()


def load_images(source: object, base: Path | None = None) -> ImageSet:
    """Collects the images to explain.

    Args:
        source: A glob pattern, a folder or a file; a sequence of paths and patterns; a
            reference whose value is any of the following; a batch ``(N, H, W[, C])`` as an
            array or tensor; a sequence of arrays (or of paths); an object with an ``images``
            attribute (and maybe ``labels`` and ``masks``, as
            :func:`saliency_widgets.zoo.load_samples` gives); or an :class:`ImageSet`.
        base: Folder that relative paths and patterns are resolved against.

    Returns:
        The images and their names (and labels and masks when the source has them).

    Raises:
        InputError: If nothing matches, a file is not an image, or the source gives something
            that is not images.
    """
    if isinstance(source, ImageSet):
        return source
    what = repr(source) if isinstance(source, str) else "images"
    if isinstance(source, str) and is_reference(source):
        source = produce(source)
    elif isinstance(source, str | Path) or _all_paths(source):
        patterns = [source] if isinstance(source, str | Path) else list(source)  # type: ignore[call-overload]
        files = expand_patterns([str(p) for p in patterns], base)
        return ImageSet(tuple(read_image(f) for f in files), tuple(f.stem for f in files))
    labels, masks = getattr(source, "labels", None), getattr(source, "masks", None)
    value: Any = getattr(source, "images", source)
    if isinstance(value, np.ndarray) or hasattr(value, "numpy"):
        value = value.numpy() if hasattr(value, "numpy") else value
        if value.ndim not in (3, 4):
            raise InputError(
                f"images {what}: an array must be a batch (N, H, W[, C]), got shape {value.shape}"
            )
        value = list(value)
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise InputError(f"images {what} gave {type(value).__name__}, not images")
    images, names = [], []
    for i, item in enumerate(value):
        if isinstance(item, str | Path):
            images.append(read_image(resolve_path(item, base)))
            names.append(Path(item).stem)
        else:
            images.append(checked_image(item, f"images {what} item {i}"))
            names.append(f"#{i}")
    return ImageSet(
        tuple(images),
        tuple(names),
        None if labels is None else np.asarray(labels),
        None if masks is None else np.asarray(masks),
    )


def _all_paths(source: object) -> bool:
    return (
        isinstance(source, Sequence)
        and not isinstance(source, str)
        and bool(source)
        and all(isinstance(item, str | Path) for item in source)
    )


def load_class_names(source: str | Sequence[str] | None, base: Path | None = None) -> list[str]:
    """Class names by index, from a reference, a ``.json``/``.txt`` file or a comma list.

    Args:
        source: A reference giving a sequence of names; a ``.json`` file holding a list, or an
            object with a ``"class_names"`` list (as the bundled model's report does); a ``.txt``
            file with one name per line; a comma-separated list; a sequence; or ``None``.
        base: Folder that relative paths are resolved against.

    Returns:
        The names (empty when ``source`` is ``None``).

    Raises:
        InputError: If the file is missing or holds no list of names.
    """
    if source is None:
        return []
    if not isinstance(source, str):
        return [str(name) for name in source]
    if is_reference(source):
        value = produce(source)
    elif source.strip().lower().endswith((".json", ".txt")):
        path = resolve_path(source.strip(), base)
        if not path.is_file():
            raise InputError(f"class names file not found: {path}")
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".txt":
            value = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            value = json.loads(text)
            value = value.get("class_names") if isinstance(value, dict) else value
    else:
        value = [name.strip() for name in source.split(",") if name.strip()]
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise InputError(f"class names {source!r} gave no list of names")
    return [str(name) for name in value]


__all__ = [
    "MODELS",
    "MODEL_SUFFIXES",
    "ModelCache",
    "function",
    "is_reference",
    "load_class_names",
    "load_images",
    "load_model",
    "produce",
    "reference_module",
    "resolve_reference",
]
