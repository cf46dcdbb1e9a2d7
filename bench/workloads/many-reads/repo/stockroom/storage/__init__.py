from .memory import MemoryStore

__all__ = ["MemoryStore"]
