"""The error a tool raises for a call that cannot be carried out."""


class ToolError(Exception):
    """The call cannot be carried out (bad path, no unique match, ...): its future fails
    with this message, and the model reads it as the call's result."""
