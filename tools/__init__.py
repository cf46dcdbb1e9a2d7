"""Repository tools, one module each. ``load_tools`` builds the set a run offers."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Tool

#: Tool name -> "module:class" of the built-in tools, in the order the model sees them.
BUILTIN: dict[str, str] = {
    "read_file": "read_file:ReadFile",
    "list_files": "list_files:ListFiles",
    "grep": "grep:Grep",
    "edit_file": "edit_file:EditFile",
    "write_file": "write_file:WriteFile",
    "run": "run:Run",
    "run_tests": "run_tests:RunTests",
    "build": "build:Build",
    "outline": "outline:Outline",
    "find_symbol": "find_symbol:FindSymbol",
    "repo_map": "repo_map:RepoMap",
}


def load_tool(spec: str) -> Tool[Any]:
    """A tool from a built-in name or a ``package.module:Class`` path."""
    target = BUILTIN.get(spec, spec)
    module_name, _, cls_name = target.partition(":")
    if not cls_name:
        raise ValueError(f"unknown tool {spec!r}: not built in, and not a 'module:Class' path")
    if spec in BUILTIN:
        module_name = f"{__name__}.{module_name}"
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls()  # type: ignore[no-any-return]


def load_tools(names: list[str] | None = None) -> dict[str, Tool[Any]]:
    """The tools by name; all built-in ones that are available when ``names`` is None."""
    tools: dict[str, Tool[Any]] = {}
    for spec in names if names is not None else list(BUILTIN):
        try:
            tool = load_tool(spec)
        except ModuleNotFoundError:
            if names is None:  # a built-in tool whose module is not there yet
                continue
            raise
        tools[tool.name] = tool
    return tools
