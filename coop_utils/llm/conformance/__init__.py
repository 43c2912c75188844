"""llm/conformance."""
