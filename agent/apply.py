"""``--apply``: the agent's patch onto the user's tree, after checking every path in it.

The patch is made from a work tree a sandbox could write, so it is checked as hostile
input: each path (old and new side, renames and copies included) must stay inside the
repository and out of ``.git``, and each symbolic link it creates must point inside the
repository. Only then does the safe host git apply it.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from pathlib import Path

from .hostgit import HostGit, WorkAreaError, for_repo, repo_root

_HEADER = re.compile(rb"^diff --git ")
_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}


def apply_patch(root: Path, patch_file: Path) -> None:
    """Apply ``patch_file`` to the user's tree at ``root`` (a repository or a plain
    directory); WorkAreaError if refused."""
    data = patch_file.read_bytes()
    if not data:
        return
    if repo_root(root) is not None:
        _apply(for_repo(root), root, patch_file, data)
        return
    # a plain directory: an empty git directory of our own, so that git looks for none
    with tempfile.TemporaryDirectory(prefix="asyncfc-apply-") as scratch:
        HostGit(Path(scratch)).run("init", "-q", "--bare")
        _apply(HostGit(Path(scratch), root), root, patch_file, data)


def _apply(repo: HostGit, root: Path, patch_file: Path, data: bytes) -> None:
    listed = repo.run("apply", "--numstat", "-z", "--binary", "-", input=data, check=False)
    paths = {*_numstat_paths(listed), *header_paths(data)}
    problems = [p for path in paths if (p := path_problem(path))]
    problems += [p for path, target in symlinks(data) if (p := link_problem(path, target))]
    if problems:
        raise WorkAreaError(
            f"refused to apply {patch_file}: {'; '.join(sorted(set(problems)))} "
            f"(nothing was changed)"
        )
    try:
        repo.run("apply", "--check", "--binary", "-", input=data)
    except WorkAreaError as exc:
        raise WorkAreaError(
            f"the patch does not apply to {root} (changed since the run started?): {exc}; "
            f"it is kept at {patch_file}"
        ) from None
    repo.run("apply", "--binary", "-", input=data)


def _numstat_paths(out: bytes) -> list[str]:
    """Every path of ``git apply --numstat -z``: a rename or copy gives both of its names."""
    paths: list[str] = []
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        if not entry:
            i += 1
            continue
        stats = entry.split(b"\t")
        if len(stats) == 3 and stats[2]:
            paths.append(stats[2].decode("utf-8", "surrogateescape"))
            i += 1
        else:  # "added\tdeleted\t" then the old and the new name
            paths += [f.decode("utf-8", "surrogateescape") for f in fields[i + 1 : i + 3]]
            i += 3
    return paths


_NAMED = re.compile(rb"^(?:--- |\+\+\+ |rename from |rename to |copy from |copy to )(.+)$")


def header_paths(patch: bytes) -> list[str]:
    """The paths a patch's headers name: both sides of ---/+++, renames and copies (git's
    own listing gives only the side it writes)."""
    paths = []
    in_hunk = False
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git "):
            in_hunk = False
        elif line.startswith(b"@@"):
            in_hunk = True
        match = None if in_hunk else _NAMED.match(line)
        if match is None:
            continue
        name = unquote(match.group(1).rstrip(b"\t"))
        if name == "/dev/null":
            continue
        if line.startswith((b"--- ", b"+++ ")):
            name = name[2:] if name[:2] in ("a/", "b/") else name
        paths.append(name)
    return paths


def path_problem(path: str) -> str | None:
    """Why a path of a patch may not be written in the repository, or None."""
    if path.startswith("/"):
        return f"{path!r} is an absolute path"
    parts = path.split("/")
    if ".." in parts:
        return f"{path!r} leaves the repository"
    if any(p.rstrip(". ").lower() == ".git" for p in parts):
        return f"{path!r} is inside .git"
    return None


def link_problem(path: str, target: str) -> str | None:
    """Why symbolic link ``path`` -> ``target`` may not be made, or None."""
    if target.startswith("/"):
        return f"symbolic link {path!r} points outside the repository ({target!r})"
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if joined == ".." or joined.startswith("../"):
        return f"symbolic link {path!r} points outside the repository ({target!r})"
    return None


def symlinks(patch: bytes) -> list[tuple[str, str]]:
    """The symbolic links a patch creates or changes: (path, target)."""
    found = []
    for section in re.split(rb"(?m)^(?=diff --git )", patch):
        if not _HEADER.match(section) or not re.search(rb"(?m)^(new file mode|new mode) 120000$", section):
            continue
        name = re.search(rb"(?m)^\+\+\+ (.*)$", section)
        added = re.findall(rb"(?m)^\+(?!\+\+ )(.*)$", section)
        if name is None or not added:
            continue
        path = unquote(name.group(1)).removeprefix("b/")
        found.append((path, added[0].decode("utf-8", "surrogateescape")))
    return found


def unquote(raw: bytes) -> str:
    """A file name as git writes it in a patch header (C-quoted when odd)."""
    if not (raw.startswith(b'"') and raw.endswith(b'"')):
        return raw.decode("utf-8", "surrogateescape")
    out = bytearray()
    body, i = raw[1:-1], 0
    while i < len(body):
        c = body[i : i + 1]
        if c != b"\\":
            out += c
            i += 1
        elif body[i + 1 : i + 2].isdigit():
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(_ESCAPES.get(body[i + 1 : i + 2], body[i + 1]))
            i += 2
    return bytes(out).decode("utf-8", "surrogateescape")
