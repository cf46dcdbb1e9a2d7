"""stockroom: stock keeping for a small warehouse (items, locations, movements)."""

__version__ = "1.8.0"
