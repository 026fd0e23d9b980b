"""What is benchmarked: contenders, cases, and the sizes of each model's runs.

The full run is sized to take about a quarter of an hour on the 2-core development CPU; ``--quick``
is a smoke check of the whole pipeline in under a minute. A GPU machine runs the full matrix with
the sizes of the issue (``--sizes issue``; see ``benchmarks/gpu.sh``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

GRADIENT_CASES: dict[str, str] = {
    "vanilla": "vanilla gradient, top-1 class, one batch",
    "classes": "vanilla gradient, K classes per image, one batch",
    "smoothgrad": "SmoothGrad, n noisy samples per image, one batch",
    "stream": "vanilla top-1 over a stream of images, in batches (throughput)",
}
"""The gradient cases (the speed goals are stated on these)."""

METHOD_CASES: dict[str, dict] = {
    "layercam": {},
    "hirescam": {},
    "xgradcam": {},
    "eigencam": {},
    "ablationcam": {},
    "scorecam": {},
    "occlusion": {"window": 8, "stride": 4},
    "rise": {"samples": 500},
}
"""One case per method that peers ship: top-1 class, one batch of ``Sizes.method_batch``
images, the model's default CAM layer, these parameters (the same for every contender)."""

CASES: dict[str, str] = {
    **GRADIENT_CASES,
    **{
        name: f"{name}, top-1 class, one batch"
        + (f" ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else "")
        for name, params in METHOD_CASES.items()
    },
}
"""Benchmark cases, in the order they run in each process."""


@dataclass(frozen=True)
class Contender:
    """One contender: the virtualenv it runs in, its adapter module and its mode.

    Attributes:
        name: Key used in results.
        venv: ``"project"`` (the project's own environment) or a section of
            ``benchmarks/requirements.txt``.
        module: Adapter module in ``benchmarks/contenders/``.
        mode: Passed to the adapter (e.g. the jit setting).
        label: Human-readable description.
    """

    name: str
    venv: str
    module: str
    mode: str
    label: str


CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender("ours-auto", "project", "ours", "auto", "saliency_widgets, jit_compile=None"),
        Contender("ours-jit", "project", "ours", "on", "saliency_widgets, jit_compile=True"),
        Contender("ours-nojit", "project", "ours", "off", "saliency_widgets, jit_compile=False"),
        Contender("tape-eager", "project", "tapes", "eager", "hand-written eager GradientTape"),
        Contender("tape-function", "project", "tapes", "function", "hand-written tf.function tape"),
        Contender("tf-keras-vis", "tf-keras-vis", "tf_keras_vis", "", "tf-keras-vis Saliency"),
        Contender("xplique", "xplique", "xplique", "", "Xplique Saliency / SmoothGrad"),
        Contender("pair-saliency", "pair-saliency", "pair_saliency", "", "PAIR saliency (TF)"),
        Contender(
            "pytorch-grad-cam",
            "pytorch-grad-cam",
            "grad_cam_torch",
            "",
            "pytorch-grad-cam on the bundled model ported to PyTorch (CPU)",
        ),
    )
}
"""Every contender, ours first; ``ours-auto`` is the reference for map differences."""

REFERENCE = "ours-auto"


@dataclass(frozen=True)
class Sizes:
    """How big one model's runs are.

    Attributes:
        batch: Images per batch (vanilla, classes, smoothgrad; the stream's batch size).
        classes: K, classes per image in the ``classes`` case.
        samples: SmoothGrad's noisy samples per image.
        stream: Images in the ``stream`` case.
        repeats: Warm runs per case (the median is reported).
        budget_s: A case stops adding warm runs past this many seconds (at least 3 are kept), so
            that a contender 50× slower than the rest cannot take the whole run.
        stream_budget_s: A contender that streams image by image stops after this many seconds;
            its throughput is measured on the images it did.
        method_batch: Images per batch in the method cases (perturbation methods run hundreds
            of forward passes per image).
    """

    batch: int
    classes: int = 5
    samples: int = 16
    stream: int = 1024
    repeats: int = 5
    budget_s: float = 60.0
    stream_budget_s: float = 20.0
    method_batch: int = 8


SIZES: dict[str, dict[str, Sizes]] = {
    "issue": {
        "shapes": Sizes(batch=32),
        "mobilenetv2": Sizes(batch=32),
        "resnet50v2": Sizes(batch=32),
    },
    "cpu": {
        "shapes": Sizes(batch=32),
        "mobilenetv2": Sizes(batch=32, stream=512, budget_s=60.0),
        # One ResNet50V2 batch of 32 takes ~3 s forward on 2 cores: batch 8 keeps every
        # contender's five warm runs within the run's quarter of an hour.
        "resnet50v2": Sizes(batch=8, stream=64, budget_s=60.0, stream_budget_s=15.0),
    },
    "quick": {
        "shapes": Sizes(
            batch=8,
            samples=4,
            stream=64,
            repeats=5,
            budget_s=3.0,
            stream_budget_s=3.0,
            method_batch=2,
        ),
    },
}
"""Size plans by name: the issue's, the one for this CPU, and the smoke check."""


@dataclass(frozen=True)
class Skip:
    """Cases a plan leaves out, with the reason printed in the results.

    Attributes:
        models: Model names, or ``("*",)`` for all.
        contenders: Contender names, or ``("*",)`` for all.
        cases: The cases left out.
        reason: Why.
    """

    models: tuple[str, ...]
    contenders: tuple[str, ...]
    cases: tuple[str, ...]
    reason: str

    def applies(self, model: str, contender: str, case: str) -> bool:
        """Whether this rule leaves ``case`` of ``contender`` on ``model`` out."""
        return (
            case in self.cases
            and (self.models == ("*",) or model in self.models)
            and (self.contenders == ("*",) or contender in self.contenders)
        )


_BIG = ("mobilenetv2", "resnet50v2")
SKIPS: dict[str, tuple[Skip, ...]] = {
    "cpu": (
        Skip(
            _BIG,
            ("ours-jit", "ours-nojit"),
            ("smoothgrad", "stream"),
            "cpu plan: the jit policy is decided on vanilla and K classes (XLA is 10-30× slower "
            "here; auto is jit off on CPU)",
        ),
        Skip(
            ("resnet50v2",),
            ("ours-nojit",),
            ("vanilla", "classes"),
            "cpu plan: identical to ours-auto on CPU (auto_jit() is False)",
        ),
        Skip(_BIG, ("tape-eager",), ("smoothgrad",), "cpu plan: time"),
        Skip(("resnet50v2",), ("tape-eager",), ("classes", "stream"), "cpu plan: time"),
        Skip(
            ("resnet50v2",),
            ("*",),
            ("smoothgrad",),
            "cpu plan: 16 × 8 ResNet50V2 gradients per call do not fit the run's time on 2 cores",
        ),
        Skip(
            _BIG,
            ("*",),
            tuple(METHOD_CASES),
            "cpu plan: the method cases run on the bundled model (perturbation methods cost "
            "hundreds of forward passes per image)",
        ),
        Skip(
            ("*",),
            ("ours-jit", "ours-nojit", "tape-eager", "tape-function"),
            tuple(METHOD_CASES),
            "cpu plan: the method cases compare ours (jit auto) with the peers that ship them",
        ),
        Skip(
            ("*",),
            ("pytorch-grad-cam",),
            tuple(GRADIENT_CASES),
            "pytorch-grad-cam has no gradient saliency",
        ),
    ),
}
"""Per plan, what is left out to fit the time; the ``issue`` plan (GPU) runs everything."""


def skip_reason(plan: str, model: str, contender: str, case: str) -> str | None:
    """Why a plan leaves a case out, or ``None`` when it runs.

    Args:
        plan: A key of :data:`SIZES`.
        model: Model name.
        contender: Contender name.
        case: Case name.

    Returns:
        The reason, or ``None``.
    """
    for rule in SKIPS.get(plan, ()):
        if rule.applies(model, contender, case):
            return rule.reason
    return None


QUICK_CONTENDERS = ("ours-auto", "tf-keras-vis", "xplique", "pair-saliency")
"""Contenders of the smoke check (the ones whose virtualenvs exist; nothing is installed)."""
QUICK_CASES = tuple(GRADIENT_CASES)
"""Cases of the smoke check (the method cases take minutes)."""


def sizes_for(plan: str, model: str, **overrides: int | float) -> Sizes:
    """The sizes of one model under a plan, with overrides.

    Args:
        plan: A key of :data:`SIZES`.
        model: A model name.
        **overrides: Fields of :class:`Sizes` to replace.

    Returns:
        The sizes.

    Raises:
        KeyError: If the plan has no such model.
    """
    return replace(SIZES[plan][model], **overrides)
