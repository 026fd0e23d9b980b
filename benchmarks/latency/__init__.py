"""Parts of ``benchmarks/widget_latency.py``: kernel-side marks, page-side timing, the report."""
