"""Agreement of our methods with their reference implementations, on the same weights and images.

Each module compares a family of methods with a peer library run in its own virtualenv
(``benchmarks/.venvs/<name>``) and writes rows ``(method, reference, rank correlation, max abs
difference, note)`` to ``benchmarks/results/agreement-<family>.json`` and ``.md``.
"""
