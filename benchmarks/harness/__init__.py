"""The benchmark harness: timing, memory, map comparison, result records and reports.

Everything here is plain Python and numpy so that it also runs inside the contenders' own
virtualenvs, where neither ``saliency_widgets`` nor the project's test tools are installed.
TensorFlow is imported only by the modules that run models (:mod:`harness.models`,
:mod:`harness.worker`).
"""
