"""asyncfc-agent: a coding agent whose tool calls run as futures."""

__version__ = "0.1.0"
