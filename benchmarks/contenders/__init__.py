"""Adapters that run each contender library on the benchmark cases.

Each module defines ``Adapter``, a subclass of :class:`contenders.base.Adapter`, and is imported
only inside the virtualenv of its library (``ours`` and ``tapes`` run in the project's own).
"""
