"""hemewatch: a self-hosted monitor for acute leukemia clinical trials."""

__version__ = "0.1.0"
