"""partner-kpi: the app layer (config, pipeline, CLI, reports) that wires the packages together."""

__version__ = "0.1.0"
