"""Bundled examples: the demo repository and its script."""

from pathlib import Path

HERE = Path(__file__).parent
DEMO_REPO = HERE / "demo_repo"
DEMO_SCRIPT = HERE / "demo.yaml"
DEMO_ISSUE = HERE / "demo_issue.md"
