"""Benchmark scripts (run them as files, e.g. ``python bench/kpi_engine.py``)."""
