"""Hypothesis settings of the fuzz tests: derandomized (a fixed seed) and deadline-free."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    derandomize=True,  # the same examples on every run: CI is reproducible
    deadline=None,  # first calls trace TensorFlow functions; timing is not what is tested
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile("fuzz")
