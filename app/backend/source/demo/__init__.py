"""A synthetic Messages + Contacts source in Apple's real schemas, for tests, benchmarks and demos."""

from backend.source.demo.generator import DemoSourceSummary, generate_demo_source, planted_topics

__all__ = ["DemoSourceSummary", "generate_demo_source", "planted_topics"]
