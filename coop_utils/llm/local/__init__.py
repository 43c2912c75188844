"""llm.local."""

from .app import FaultSettings, LocalServer

__all__ = ["FaultSettings", "LocalServer"]
