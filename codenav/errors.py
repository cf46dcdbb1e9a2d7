"""The one error code navigation raises for a request it cannot serve."""


class CodeNavError(Exception):
    """A missing file, an unsupported language, a path outside the repository, ..."""
