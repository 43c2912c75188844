"""LLM agents over OpenAI-compatible HTTP, and the local scripted server that stands in for a model."""
