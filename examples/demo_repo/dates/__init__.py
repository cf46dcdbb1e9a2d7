from .parse import parse_date, format_date

__all__ = ["parse_date", "format_date"]
