"""Benchmark of the repository map: a generated repository of ~2,000 source files in six
languages, mapped cold (empty tag cache), warm (nothing changed; in this process, and as
a new ``asyncfc-agent map`` process) and after one edit.

    python bench/codenav_bench.py [--files 2000] [--tokens 1024] [--keep DIR]

The repository is generated from a fixed seed, so runs are comparable. Targets for 2,000
files on 2 cores: cold under 10 s, warm under 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from asyncfc_agent.codenav import repo_map

NOUNS = ["order", "invoice", "customer", "ledger", "report", "session", "token", "cart",
         "payment", "account", "shipment", "review", "catalog", "price", "stock", "user"]
VERBS = ["load", "save", "parse", "render", "validate", "merge", "compute", "sync"]


@dataclass(frozen=True)
class Template:
    """How one language spells a file: a class with one method per verb, then one
    function per verb that calls the functions of the modules it uses.

    Fields are ``str.format`` templates: ``{type}`` is the class, ``{verb}``/``{Verb}``
    a verb, ``{name}`` a function, ``{calls}`` the function's calls.
    """

    suffix: str
    case: str  # of function names: snake, camel or pascal
    head: str
    class_open: str
    method: str
    class_close: str
    function: str
    call: str
    tail: str = ""


TEMPLATES = [
    Template(
        "py", "snake", '"""Module {index}."""\n\nimport os\n\n\n',
        "class {type}:\n    def __init__(self, root: str) -> None:\n        self.root = root\n\n",
        "    def {verb}(self, item: dict[str, object]) -> bool:\n"
        "        path = os.path.join(self.root, str(item.get('{verb}')))\n"
        "        return len(path) > 3\n\n",
        "\n",
        "def {name}(data: list[int]) -> int:\n{calls}    return sum(data) * 2\n\n\n",
        "    {name}(data)\n    {type}('x')\n",
    ),
    Template(
        "go", "pascal", "package p{index}\n\n",
        "type {type} struct {{\n\tRoot string\n}}\n\n",
        "func (s *{type}) {Verb}(item map[string]int) bool {{\n"
        '\tif len(s.Root) == 0 {{\n\t\treturn false\n\t}}\n\treturn item["{verb}"] > 3\n}}\n\n',
        "",
        "func {name}(data []int) int {{\n{calls}\treturn len(data) * 2\n}}\n\n",
        "\t{name}(data)\n",
    ),
    Template(
        "rs", "snake", "use std::collections::HashMap;\n\n",
        "pub struct {type} {{\n    pub root: String,\n}}\n\nimpl {type} {{\n",
        "    pub fn {verb}(&self, item: &[i32]) -> bool {{\n"
        "        if self.root.is_empty() {{\n            return false;\n        }}\n"
        "        item.len() > 3\n    }}\n\n",
        "}}\n\n",
        "pub fn {name}(data: &[i32]) -> usize {{\n{calls}    data.len() * 2\n}}\n\n",
        "    {name}(data);\n",
    ),
    Template(
        "java", "camel", "package gen;\n\n",
        "public class {type} {{\n    private final String root;\n\n"
        "    public {type}(String root) {{\n        this.root = root;\n    }}\n\n",
        "    public boolean {verb}(java.util.Map<String, Integer> item) {{\n"
        '        if (root.isEmpty()) {{\n            return false;\n        }}\n'
        '        return item.get("{verb}") > 3;\n    }}\n\n',
        "",
        "    public static int {name}(int[] data) {{\n{calls}        return data.length * 2;\n"
        "    }}\n\n",
        "        {type}.{name}(data);\n",
        tail="}}\n",
    ),
    Template(
        "js", "camel", "",
        "export class {type} {{\n  constructor(root) {{\n    this.root = root;\n  }}\n\n",
        "  {verb}(item) {{\n    if (!this.root) {{\n      return false;\n    }}\n"
        '    return item["{verb}"] > 3;\n  }}\n\n',
        "}}\n\n",
        "export function {name}(data) {{\n{calls}  return data.length * 2;\n}}\n\n",
        "  {name}(data);\n",
    ),
    Template(
        "ts", "camel", "",
        "export class {type} {{\n  constructor(private root: string) {{}}\n\n",
        "  {verb}(item: Record<string, number>): boolean {{\n    if (!this.root) {{\n"
        '      return false;\n    }}\n    return item["{verb}"] > 3;\n  }}\n\n',
        "}}\n\n",
        "export function {name}(data: number[]): number {{\n{calls}  return data.length * 2;\n"
        "}}\n\n",
        "  {name}(data);\n",
    ),
]


@dataclass(frozen=True)
class Module:
    """One generated file: its index, its topic, and the modules it uses."""

    index: int
    noun: str
    template: Template

    @property
    def type_name(self) -> str:
        return f"{self.noun.title()}Service{self.index}"

    def function(self, verb: str) -> str:
        if self.template.case == "snake":
            return f"{verb}_{self.noun}_{self.index}"
        name = f"{verb}{self.noun.title()}{self.index}"
        return name[:1].upper() + name[1:] if self.template.case == "pascal" else name

    def render(self, uses: list[Module]) -> str:
        t = self.template
        parts = [t.head.format(index=self.index), t.class_open.format(type=self.type_name)]
        parts += [t.method.format(type=self.type_name, verb=v, Verb=v.title()) for v in VERBS]
        parts.append(t.class_close.format())
        for verb in VERBS:
            calls = "".join(t.call.format(name=o.function(verb), type=o.type_name) for o in uses)
            parts.append(t.function.format(name=self.function(verb), calls=calls))
        parts.append(t.tail.format())
        return "".join(parts)


def generate(root: Path, files: int, seed: int = 8) -> None:
    """``files`` source files, each using a few modules of its own language."""
    rng = random.Random(seed)
    modules = [Module(i, rng.choice(NOUNS), TEMPLATES[i % len(TEMPLATES)])
               for i in range(files)]
    for m in modules:
        peers = range(m.index % len(TEMPLATES), files, len(TEMPLATES))
        uses = [modules[j] for j in rng.sample(peers, k=min(4, len(peers))) if j != m.index]
        path = root / f"pkg{m.index // 100:02d}" / f"m{m.index}.{m.template.suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(m.render(uses), encoding="utf-8")


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the parse workers): unlike
    wall time, it hardly moves when other work shares the machine."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(label: str, root: Path, cache: Path, tokens: int) -> float:
    started, cpu = time.perf_counter(), cpu_seconds()
    result = repo_map(root, max_tokens=tokens, cache_dir=cache)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    stats = result.stats
    print(f"{label:<14}{seconds:7.2f} s  (cpu {cpu:5.2f} s)  {stats.parsed:5} parsed "
          f"({stats.by_workers} by workers) {stats.cached:5} cached   {result.summary()}")
    return seconds


def timed_command(label: str, root: Path, xdg: Path, tokens: int) -> float:
    """``asyncfc-agent map`` in a new process: interpreter start and imports included."""
    command = [sys.executable, "-c", "from asyncfc_agent.cli.app import main; main()",
               "map", "--repo", str(root), "--tokens", str(tokens)]
    started, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run(command, env={**os.environ, "XDG_CACHE_HOME": str(xdg)}, check=True,
                   capture_output=True)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(f"{label:<14}{seconds:7.2f} s  (cpu {cpu:5.2f} s)  asyncfc-agent map in a new process")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--keep", type=Path, help="generate here and keep it")
    parser.add_argument("--no-git", action="store_true", help="list files by walking")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="codenav-bench-"))
    root = args.keep or work / "repo"
    xdg = work / "xdg"  # the command's cache is where the in-process runs put theirs
    cache = xdg / "asyncfc-agent" / "tags"
    try:
        generate(root, args.files)
        if not args.no_git and shutil.which("git"):
            subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        lines = sum(p.read_text().count("\n") for p in root.rglob("m*.*"))
        print(f"{args.files} files, {lines:,} lines, in {root}")
        timed("cold", root, cache, args.tokens)
        timed("warm", root, cache, args.tokens)
        timed_command("warm command", root, xdg, args.tokens)
        edited = next(root.rglob("m0.py"))
        edited.write_text(edited.read_text() + "\ndef added_later() -> None:\n    pass\n")
        timed("one edit", root, cache, args.tokens)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
