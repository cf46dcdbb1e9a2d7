"""read_file, list_files, edit_file and write_file on real files in a temporary repository."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncfc_agent.sandboxes.local import LocalSandbox
from asyncfc_agent.tools import load_tool
from asyncfc_agent.tools.base import ToolContext, ToolError, ToolsConfig
from asyncfc_agent.tools.edit_file import EditFile, EditFileArgs
from asyncfc_agent.tools.list_files import ListFiles, ListFilesArgs, glob_regex
from asyncfc_agent.tools.read_file import ReadFile, ReadFileArgs
from asyncfc_agent.tools.workspace import MAX_FILE_BYTES, Workspace
from asyncfc_agent.tools.write_file import WriteFile, WriteFileArgs


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[ToolContext]:
    repo = tmp_path / "repo"
    repo.mkdir()
    async with LocalSandbox(repo) as sandbox:
        yield ToolContext(sandbox, Workspace(repo), ToolsConfig(output_limit=2_000))


def put(ctx: ToolContext, rel: str, text: str | bytes) -> Path:
    path: Path = ctx.workspace.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


async def read(ctx: ToolContext, path: str, start: int | None = None, end: int | None = None) -> str:
    args = ReadFileArgs(path=path, start_line=start, end_line=end)
    out: str = (await ReadFile().run(ctx, args)).output
    return out


async def edit(ctx: ToolContext, path: str, old: str, new: str) -> str:
    out: str = (await EditFile().run(ctx, EditFileArgs(path=path, old=old, new=new))).output
    return out


# --- paths, shared by all file tools ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../x", "outside the repository"),
        ("a/../../x", "outside the repository"),
        ("/etc/passwd", "relative to the repository root"),
        ("missing.py", "missing.py: no such file"),
    ],
)
async def test_bad_paths_are_refused_with_the_reason(
    ctx: ToolContext, path: str, message: str
) -> None:
    with pytest.raises(ToolError, match=message):
        await read(ctx, path)
    with pytest.raises(ToolError):
        await edit(ctx, path, "a", "b")


async def test_a_symlink_out_of_the_repository_is_refused(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret\n")
    os.symlink(tmp_path / "secret.txt", ctx.workspace.root / "link.txt")
    with pytest.raises(ToolError, match="outside the repository"):
        await read(ctx, "link.txt")


async def test_a_missing_file_suggests_close_names(ctx: ToolContext) -> None:
    put(ctx, "src/parser.py", "x = 1\n")
    with pytest.raises(ToolError, match=r"did you mean src/parser\.py\?"):
        await read(ctx, "src/parsr.py")
    with pytest.raises(ToolError, match="nearest existing directory is src"):
        await read(ctx, "src/deep/er/x.py")


# --- read_file -------------------------------------------------------------------------


async def test_read_file_numbers_lines(ctx: ToolContext) -> None:
    put(ctx, "a.py", "one\ntwo\nthree\n")
    assert await read(ctx, "a.py") == "1\tone\n2\ttwo\n3\tthree"


async def test_read_file_range_is_inclusive_and_says_where_it_is(ctx: ToolContext) -> None:
    put(ctx, "a.py", "".join(f"line {i}\n" for i in range(1, 13)))
    out = await read(ctx, "a.py", 9, 10)
    assert out == " 9\tline 9\n10\tline 10\n[lines 9-10 of 12]"
    assert (await read(ctx, "a.py", 11, 99)).splitlines()[:2] == ["11\tline 11", "12\tline 12"]


async def test_read_file_pages_long_files(ctx: ToolContext) -> None:
    ctx.config.output_limit = 100_000
    put(ctx, "big.txt", "".join(f"{i}\n" for i in range(1, 2311)))
    result = await ReadFile().run(ctx, ReadFileArgs(path="big.txt"))
    assert result.truncated
    assert result.output.endswith(
        "[showing lines 1-400 of 2,310; call read_file with start_line=401 to continue]"
    )
    following = await read(ctx, "big.txt", 401)
    assert following.splitlines()[0] == "401\t401"


async def test_read_file_caps_by_characters(ctx: ToolContext) -> None:
    put(ctx, "wide.txt", "".join("x" * 90 + "\n" for _ in range(100)))
    result = await ReadFile().run(ctx, ReadFileArgs(path="wide.txt"))
    assert len(result.output) < 2_200
    last = result.meta["end_line"]
    assert 10 < last < 30
    assert f"start_line={last + 1} to continue" in result.output


async def test_read_file_clips_very_long_lines(ctx: ToolContext) -> None:
    put(ctx, "min.js", "a" * 5_000 + "\nshort\n")
    ctx.config.output_limit = 10_000
    first, second = (await read(ctx, "min.js")).splitlines()
    assert first == "1\t" + "a" * 2_000 + " [... 3,000 more characters on this line]"
    assert second == "2\tshort"


async def test_read_file_errors(ctx: ToolContext) -> None:
    put(ctx, "a.py", "one\ntwo\n")
    put(ctx, "blob.bin", b"\x7fELF\x00\x01\x02")
    put(ctx, "pkg/__init__.py", "")
    with pytest.raises(ToolError, match=r"past the end of a\.py, which has 2 lines"):
        await read(ctx, "a.py", 5)
    with pytest.raises(ToolError, match="end_line=1 is before start_line=2"):
        await read(ctx, "a.py", 2, 1)
    with pytest.raises(ToolError, match="binary file"):
        await read(ctx, "blob.bin")
    with pytest.raises(ToolError, match="pkg is a directory; use list_files"):
        await read(ctx, "pkg")
    assert await read(ctx, "pkg/__init__.py") == "pkg/__init__.py is empty (0 lines)"


# --- list_files ------------------------------------------------------------------------


@pytest.fixture
def tree(ctx: ToolContext) -> ToolContext:
    for rel in ["README.md", "src/app.py", "src/util/io.py", "src/util/io.ts",
                "tests/test_app.py", ".github/ci.yml", ".git/HEAD",
                "node_modules/x/index.js", "src/__pycache__/app.cpython-311.pyc"]:
        put(ctx, rel, "x\n")
    return ctx


async def ls(ctx: ToolContext, **kwargs: object) -> str:
    out: str = (await ListFiles().run(ctx, ListFilesArgs.model_validate(kwargs))).output
    return out


async def test_list_files_skips_ignored_dirs_and_sorts(tree: ToolContext) -> None:
    assert (await ls(tree)).splitlines() == [
        ".github/ci.yml", "README.md", "src/app.py", "src/util/io.py", "src/util/io.ts",
        "tests/test_app.py",
    ]


async def test_list_files_under_a_path_with_pattern_and_depth(tree: ToolContext) -> None:
    assert (await ls(tree, path="src", pattern="*.py")).splitlines() == [
        "src/app.py", "src/util/io.py",
    ]
    assert (await ls(tree, pattern="src/**/*.ts")) == "src/util/io.ts"
    assert (await ls(tree, max_depth=1)).splitlines() == [
        ".github/", "README.md", "src/", "tests/",
    ]
    assert (await ls(tree, path="src", max_depth=1)).splitlines() == ["src/app.py", "src/util/"]
    assert await ls(tree, pattern="*.rs") == "no files under . match '*.rs'"


async def test_list_files_caps_with_a_count(ctx: ToolContext) -> None:
    for i in range(300):
        put(ctx, f"many/file_{i:03}.txt", "")
    result = await ListFiles().run(ctx, ListFilesArgs(path="many"))
    assert result.truncated
    assert len(result.output) < 2_200
    shown = result.output.splitlines()[:-1]
    assert shown[0] == "many/file_000.txt"
    assert result.output.endswith(
        f"[... {300 - len(shown)} more entries not shown; narrow the listing with path, "
        "pattern or max_depth]"
    )


async def test_list_files_of_a_missing_directory(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="srcs: no such directory"):
        await ls(ctx, path="srcs")


def test_glob_regex() -> None:
    assert glob_regex("**/*.py").match("a/b/c.py")
    assert glob_regex("**/*.py").match("c.py")
    assert glob_regex("src/*.py").match("src/a.py")
    assert not glob_regex("src/*.py").match("src/x/a.py")
    assert glob_regex("test_[!x]?.py").match("test_ab.py")
    assert not glob_regex("test_[!x]?.py").match("test_xb.py")


# --- edit_file -------------------------------------------------------------------------

SOURCE = "def f(x):\n    if x:\n        return None\n    return x\n\n\ndef g():\n    return None\n"


async def test_edit_file_replaces_a_unique_string(ctx: ToolContext) -> None:
    path = put(ctx, "src/a.py", SOURCE)
    os.chmod(path, 0o755)
    result = await EditFile().run(
        ctx, EditFileArgs(path="src/a.py", old="def g():\n    return None", new="def g():\n    return 1\n    # one")
    )
    assert result.edited == ["src/a.py"]
    assert path.read_text() == SOURCE.replace("def g():\n    return None", "def g():\n    return 1\n    # one")
    assert path.stat().st_mode & 0o777 == 0o755
    assert result.output == "\n".join([
        "edited src/a.py at line 7: -2 +3 lines",
        " 5  ",
        " 6  ",
        "-7  def g():",
        "-8      return None",
        "+7  def g():",
        "+8      return 1",
        "+9      # one",
    ])


async def test_edit_file_within_a_line_and_a_deletion(ctx: ToolContext) -> None:
    path = put(ctx, "a.py", "a = 1\nb = 2\nc = 3\n")
    out = await edit(ctx, "a.py", "= 2", "= 20")
    assert out.splitlines()[0] == "edited a.py at line 2: -1 +1 lines"
    assert "-2  b = 2" in out and "+2  b = 20" in out
    out = await edit(ctx, "a.py", "b = 20\n", "")
    assert path.read_text() == "a = 1\nc = 3\n"
    assert out.splitlines()[0] == "edited a.py at line 2: -1 +0 lines"


async def test_edit_file_confirmation_of_a_large_change_is_short(ctx: ToolContext) -> None:
    put(ctx, "a.py", "start\nend\n")
    new = "".join(f"line {i}\n" for i in range(100))
    out = await edit(ctx, "a.py", "start\n", new)
    added = [line for line in out.splitlines() if line.startswith("+")]
    assert len(added) == 31
    assert "+  [... 70 more lines]" in added
    assert added[-1] == "+100  line 99"
    assert (ctx.workspace.root / "a.py").read_text() == new + "end\n"


async def test_edit_file_refuses_a_string_that_occurs_several_times(ctx: ToolContext) -> None:
    path = put(ctx, "src/a.py", SOURCE)
    with pytest.raises(ToolError) as err:
        await edit(ctx, "src/a.py", "return None", "return 0")
    assert str(err.value) == (
        "old occurs 2 times in src/a.py (lines 3, 8); include more surrounding context "
        "to make it unique"
    )
    assert path.read_text() == SOURCE


async def test_edit_file_points_at_whitespace_differences(ctx: ToolContext) -> None:
    put(ctx, "src/a.py", SOURCE)
    with pytest.raises(ToolError) as err:
        await edit(ctx, "src/a.py", "if x:\n  return None", "if x:\n  return 0")
    assert str(err.value) == (
        "old does not occur in src/a.py. The text at lines 2-3 matches it except for whitespace "
        "(indentation, tabs or trailing spaces); copy it exactly:\n"
        "2\t    if x:\n3\t        return None"
    )


async def test_edit_file_shows_the_closest_text(ctx: ToolContext) -> None:
    put(ctx, "src/a.py", SOURCE)
    with pytest.raises(ToolError, match=r"The text at lines 7-8 is the closest text \(\d+% similar\)"):
        await edit(ctx, "src/a.py", "def g():\n    return Nothing", "x")
    with pytest.raises(ToolError, match="read the file again"):
        await edit(ctx, "src/a.py", "completely unrelated text", "x")


async def test_edit_file_spots_line_numbers_from_read_file(ctx: ToolContext) -> None:
    put(ctx, "src/a.py", SOURCE)
    with pytest.raises(ToolError, match="include line numbers from read_file"):
        await edit(ctx, "src/a.py", "7\tdef g():\n8\t    return None", "x")


async def test_edit_file_argument_errors(ctx: ToolContext) -> None:
    put(ctx, "a.py", "x = 1\n")
    with pytest.raises(ToolError) as err:
        await edit(ctx, "b.py", "x", "y")
    assert str(err.value) == (
        "b.py: no such file; did you mean a.py? (to create it, use write_file)"
    )
    put(ctx, "blob.bin", b"\x00\x01binary")
    with pytest.raises(ToolError, match="old is empty"):
        await edit(ctx, "a.py", "", "y")
    with pytest.raises(ToolError, match="the same"):
        await edit(ctx, "a.py", "x", "x")
    with pytest.raises(ToolError, match="binary file"):
        await edit(ctx, "blob.bin", "binary", "text")


async def test_edit_file_keeps_crlf_line_ends(ctx: ToolContext) -> None:
    path = put(ctx, "win.txt", "")
    path.write_bytes(b"a\r\nb\r\nc\r\n")
    await edit(ctx, "win.txt", "a\nb", "a\nB\nb2")
    assert path.read_bytes() == b"a\r\nB\r\nb2\r\nc\r\n"


async def test_edit_file_refuses_files_that_are_not_utf8(ctx: ToolContext) -> None:
    path = put(ctx, "latin.txt", "caf\xe9 = 1\n".encode("latin-1"))
    with pytest.raises(ToolError, match="not UTF-8"):
        await edit(ctx, "latin.txt", "= 1", "= 2")
    assert path.read_bytes() == b"caf\xe9 = 1\n"


# --- write_file ------------------------------------------------------------------------


async def test_write_file_creates_parents_and_overwrites(ctx: ToolContext) -> None:
    tool = WriteFile()
    created = await tool.run(ctx, WriteFileArgs(path="new/dir/m.py", content="a\nb\n"))
    assert created.output == "created new/dir/m.py (2 lines)"
    assert created.edited == ["new/dir/m.py"]
    assert (ctx.workspace.root / "new/dir/m.py").read_text() == "a\nb\n"
    over = await tool.run(ctx, WriteFileArgs(path="new/dir/m.py", content="c\n"))
    assert (over.output, over.edited) == ("overwrote new/dir/m.py (1 line)", ["new/dir/m.py"])
    same = await tool.run(ctx, WriteFileArgs(path="new/dir/m.py", content="c\n"))
    assert same.edited == []
    assert "nothing written" in same.output


async def test_write_file_errors(ctx: ToolContext) -> None:
    put(ctx, "pkg/a.py", "x\n")
    tool = WriteFile()
    with pytest.raises(ToolError, match="pkg is a directory"):
        await tool.run(ctx, WriteFileArgs(path="pkg", content="x"))
    with pytest.raises(ToolError, match=r"cannot write pkg/a\.py/b\.py"):
        await tool.run(ctx, WriteFileArgs(path="pkg/a.py/b.py", content="x"))
    with pytest.raises(ToolError, match="outside the repository"):
        await tool.run(ctx, WriteFileArgs(path="../escape.py", content="x"))
    assert not (ctx.workspace.root.parent / "escape.py").exists()


# --- the protocol side -----------------------------------------------------------------


def test_effects_and_schemas() -> None:
    assert ReadFile().effects(ReadFileArgs(path="./src/a.py")).reads == {"src/a.py"}
    assert EditFile().effects(EditFileArgs(path="a.py", old="x", new="y")).writes == {"a.py"}
    assert WriteFile().effects(WriteFileArgs(path="b.py", content="")).writes == {"b.py"}
    assert ListFiles().effects(ListFilesArgs()).reads == {""}
    schema = load_tool("read_file").schema()["function"]
    assert schema["name"] == "read_file"
    assert set(schema["parameters"]["properties"]) == {"path", "start_line", "end_line"}
    with pytest.raises(ValueError, match="extra"):
        ReadFile().parse({"path": "a", "lines": 3})


async def test_odd_names_are_listed_as_one_line_of_text_each(ctx: ToolContext) -> None:
    for name in (b"nl\nname.txt", b"odd\xff\xfe.txt", b"esc\x1b]0;title\x07.txt"):
        put(ctx, os.fsdecode(name), b"x\n")
    listed = (await ListFiles().run(ctx, ListFilesArgs())).output.splitlines()
    assert listed == ["esc\\x1b]0;title\\x07.txt", "nl\\nname.txt", "odd\\xff\\xfe.txt"]
    assert sorted(ctx.workspace.fingerprint()) == listed
    with pytest.raises(ToolError, match="cannot contain a NUL byte"):
        await ReadFile().run(ctx, ReadFileArgs(path="a\0b"))


async def test_a_file_over_the_size_cap_is_refused_unread(ctx: ToolContext) -> None:
    (ctx.workspace.root / "big.log").touch()
    os.truncate(ctx.workspace.root / "big.log", MAX_FILE_BYTES + 1)
    for call in (ReadFile().run(ctx, ReadFileArgs(path="big.log")),
                 EditFile().run(ctx, EditFileArgs(path="big.log", old="a", new="b"))):
        with pytest.raises(ToolError, match=r"big\.log is 16\.0 MB \(16,000,001 bytes\): the file tools read files up to "
                                            r"16\.0 MB; use run \(head, tail, sed -n, grep\)"):
            await call


async def test_nothing_is_written_into_git_s_own_entry(ctx: ToolContext) -> None:
    put(ctx, ".git/HEAD", "ref: refs/heads/main\n")
    os.symlink(".git", ctx.workspace.root / "g")
    for call in (WriteFile().run(ctx, WriteFileArgs(path=".git/config", content="[core]\n")),
                 WriteFile().run(ctx, WriteFileArgs(path=".git/hooks/new/pre-commit", content="x")),
                 WriteFile().run(ctx, WriteFileArgs(path="g/config", content="[core]\n")),
                 EditFile().run(ctx, EditFileArgs(path=".git/HEAD", old="main", new="evil"))):
        with pytest.raises(ToolError, match=r"is inside \.git, which the file tools do not write"):
            await call
    assert sorted(os.listdir(ctx.workspace.root / ".git")) == ["HEAD"]
    assert "main" in await read(ctx, ".git/HEAD")  # reading it is fine
