"""safefs against a real directory: symlinks inside and out, loops, chains, special files."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncfc_agent.safefs import (
    MAX_LINKS,
    MAX_NESTING,
    FsError,
    IsDir,
    Missing,
    Outside,
    Root,
    TooLarge,
    WrongKind,
    read_bytes,
    stat_path,
    walk,
    write_bytes,
)
from asyncfc_agent.safefs.copy import Cancelled, copy_tree


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """root/ (the confined directory) beside outside/ (a host directory with a secret)."""
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.txt").write_text("inside\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET\n")
    before = set(os.listdir("/proc/self/fd"))
    yield root
    assert set(os.listdir("/proc/self/fd")) <= before, "an fd was left open"


def read(root: Path, rel: str) -> bytes:
    data: bytes = read_bytes(Root(root), rel, 1000)
    return data


def test_plain_paths_and_dotdot_that_stays_inside(tree: Path) -> None:
    assert read(tree, "a/b/f.txt") == b"inside\n"
    assert read(tree, "a/b/../b/./f.txt") == b"inside\n"
    with pytest.raises(Outside, match="outside the repository"):
        read(tree, "a/../../outside/secret.txt")


def test_relative_symlinks_with_dotdot_are_followed_while_they_stay_inside(tree: Path) -> None:
    os.symlink("../a/b", tree / "a" / "up")  # a/up -> a/b, by way of the root
    assert read(tree, "a/up/f.txt") == b"inside\n"
    os.symlink("b/../b/f.txt", tree / "a" / "zigzag")
    assert read(tree, "a/zigzag") == b"inside\n"
    # ``..`` is taken from the directory the link is in, as the kernel does
    os.symlink("../../outside/secret.txt", tree / "a" / "out")
    with pytest.raises(Outside, match=r"^a/out is a symlink that leads outside the repository$"):
        read(tree, "a/out")
    os.symlink("../..", tree / "a" / "b" / "top")  # the root itself: inside
    assert read(tree, "a/b/top/a/b/f.txt") == b"inside\n"
    with pytest.raises(Outside, match="is outside the repository"):  # the ``..`` is the path's
        read(tree, "a/b/top/../outside/secret.txt")


def test_absolute_symlinks_inside_are_followed_and_others_refused(tree: Path) -> None:
    os.symlink(tree / "a" / "b" / "f.txt", tree / "abs")
    assert read(tree, "abs") == b"inside\n"
    os.symlink(tree.parent / "outside" / "secret.txt", tree / "secret")
    with pytest.raises(Outside, match=r"^secret is a symlink that leads outside"):
        read(tree, "secret")
    os.symlink("/", tree / "slash")
    with pytest.raises(Outside):
        read(tree, "slash/etc/passwd")
    # a sibling whose name starts like the root's is not inside it
    sibling = tree.parent / (tree.name + "2")
    sibling.mkdir()
    (sibling / "x").write_text("no")
    os.symlink(sibling / "x", tree / "prefix")
    with pytest.raises(Outside):
        read(tree, "prefix")


def test_loops_and_long_chains(tree: Path) -> None:
    os.symlink("self", tree / "self")
    os.symlink("ping", tree / "pong")
    os.symlink("pong", tree / "ping")
    for rel in ("self", "ping", "ping/x"):
        with pytest.raises(FsError, match="too many levels of symbolic links"):
            read(tree, rel)
    target = "a/b/f.txt"
    for i in range(MAX_LINKS):  # link0 -> link1 -> ... -> the file: MAX_LINKS links
        os.symlink(target, tree / f"link{MAX_LINKS - 1 - i}")
        target = f"link{MAX_LINKS - 1 - i}"
    assert read(tree, "link0") == b"inside\n"
    os.symlink("link0", tree / "one-more")
    with pytest.raises(FsError, match="too many levels"):
        read(tree, "one-more")


def test_special_files_are_named_not_opened(tree: Path) -> None:
    os.mkfifo(tree / "fifo")
    with pytest.raises(WrongKind, match=r"^fifo is a named pipe \(FIFO\), not a regular file$"):
        read(tree, "fifo")  # would block forever if it were opened for reading
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tree / "sock"))
        with pytest.raises(WrongKind, match="sock is a socket"):
            read(tree, "sock")
    with pytest.raises(IsDir, match=r"^a is a directory$"):
        read(tree, "a")
    with pytest.raises(Missing):
        read(tree, "a/nope")
    with pytest.raises(WrongKind, match=r"a/b/f\.txt is not a directory"):
        read(tree, "a/b/f.txt/x")


def test_a_huge_sparse_file_is_refused_by_its_size(tree: Path) -> None:
    with open(tree / "sparse.bin", "wb") as f:
        f.truncate(20 * 10**9)
    with pytest.raises(TooLarge, match=r"^sparse\.bin is 20\.0 GB \(20,000,000,000 bytes\)$") as err:
        read(tree, "sparse.bin")
    assert err.value.size == 20 * 10**9


def test_writes_follow_links_inside_and_refuse_links_out(tree: Path) -> None:
    fs = Root(tree)
    os.symlink("a/b/f.txt", tree / "alias")
    assert write_bytes(fs, "alias", b"new\n") == "a/b/f.txt"
    assert (tree / "alias").is_symlink() and (tree / "a/b/f.txt").read_text() == "new\n"
    os.chmod(tree / "a/b/f.txt", 0o750)
    write_bytes(fs, "a/b/f.txt", b"again\n")
    assert (tree / "a/b/f.txt").stat().st_mode & 0o777 == 0o750
    secret = tree.parent / "outside" / "secret.txt"
    os.symlink(secret, tree / "to-secret")
    os.symlink(tree.parent / "outside", tree / "to-dir")
    for rel in ("to-secret", "to-dir/new.txt", "to-dir/deep/new.txt"):
        with pytest.raises(Outside, match="is a symlink that leads outside the repository"):
            write_bytes(fs, rel, b"pwned")
    assert secret.read_text() == "SECRET\n"
    assert sorted(os.listdir(tree.parent / "outside")) == ["secret.txt"]
    assert write_bytes(fs, "x/y/z.txt", b"made") == "x/y/z.txt"
    assert (tree / "x/y/z.txt").read_bytes() == b"made"
    assert not [n for n in os.listdir(tree / "a/b") if n.startswith(".asyncfc-")]


def test_stat_and_walk_never_leave_the_root(tree: Path) -> None:
    fs = Root(tree)
    os.symlink(tree.parent / "outside", tree / "a" / "ext")
    with pytest.raises(Outside):
        stat_path(fs, "a/ext/secret.txt")
    assert stat_path(fs, "a/missing/deeper") is None
    seen = {(listing.rel, e.name) for listing in walk(fs) for e in listing.others}
    assert ("a", "ext") in seen  # listed by name, never entered
    assert not any("secret" in name for _, name in seen)


def test_an_absolute_symlink_to_where_the_sandbox_mounts_the_root_leads_inside(tree: Path) -> None:
    os.symlink("/workspace/a/b/f.txt", tree / "mounted")
    assert read_bytes(Root(tree, aliases=("/workspace",)), "mounted", 100) == b"inside\n"
    with pytest.raises(Outside):
        read(tree, "mounted")  # without the alias it names a host path
    os.symlink("/workspacex/f.txt", tree / "near")
    with pytest.raises(Outside):
        read_bytes(Root(tree, aliases=("/workspace",)), "near", 100)


def test_copy_tree_keeps_links_pipes_modes_times_and_holes(tree: Path) -> None:
    os.symlink("../../outside/secret.txt", tree / "a" / "out")
    os.mkfifo(tree / "fifo")
    os.chmod(tree / "a" / "b" / "f.txt", 0o751)
    os.utime(tree / "a" / "b" / "f.txt", ns=(1, 2_000_000_000))
    with open(tree / "sparse", "wb") as f:
        f.seek(10**9)
        f.write(b"end")
    (tree / ".git").mkdir()
    dest = tree.parent / "copy"
    dest.mkdir()
    copy_tree(tree, dest, exclude=frozenset({".git"}))
    assert sorted(os.listdir(dest)) == ["a", "fifo", "sparse"]
    assert os.readlink(dest / "a" / "out") == "../../outside/secret.txt"  # a link, as it was
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
    copied = os.stat(dest / "a" / "b" / "f.txt")
    assert (copied.st_mode & 0o777, copied.st_mtime_ns) == (0o751, 2_000_000_000)
    assert (dest / "a" / "b" / "f.txt").read_text() == "inside\n"
    big = os.stat(dest / "sparse")
    assert big.st_size == 10**9 + 3 and big.st_blocks * 512 < 10**7  # the hole stayed a hole
    stop = threading.Event()
    stop.set()
    again = tree.parent / "again"
    again.mkdir()
    with pytest.raises(Cancelled):
        copy_tree(tree, again, stop=stop)


def test_a_path_deeper_than_the_nesting_cap_is_refused(tree: Path) -> None:
    deep = "/".join(["d"] * (MAX_NESTING + 10))
    with pytest.raises(FsError, match=f"more than {MAX_NESTING} nested directories"):
        write_bytes(Root(tree), f"{deep}/f.txt", b"x")


def test_reads_without_proc_open_the_checked_file_by_name(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def no_proc(path: str, *args: object, **kwargs: object) -> int:
        if str(path).startswith("/proc/self/fd/"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_proc)
    assert read(tree, "a/b/f.txt") == b"inside\n"
    os.mkfifo(tree / "fifo")
    with pytest.raises(WrongKind, match="FIFO"):
        read(tree, "fifo")
