"""``--apply`` takes the patch as hostile input: a path out of the repository or into .git
(either side, renames and copies included) and a symbolic link pointing out are refused
with the path named, and nothing is written; an honest patch with odd names applies."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncfc_agent.agent.apply import apply_patch
from asyncfc_agent.agent.workarea import WorkAreaError
from support import git, make_repo, tree_state


def new_file(path: str, body: str = "pwned") -> str:
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/{path}\n@@ -0,0 +1 @@\n+{body}\n")


def rename(old: str, new: str) -> str:
    return (f"diff --git a/{old} b/{new}\nsimilarity index 100%\n"
            f"rename from {old}\nrename to {new}\n")


def link(path: str, target: str) -> str:
    return (f"diff --git a/{path} b/{path}\nnew file mode 120000\n--- /dev/null\n"
            f"+++ b/{path}\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n")


REFUSED = [
    (new_file("../outside.txt"), "'../outside.txt' leaves the repository"),
    (new_file("sub/../../outside.txt"), "leaves the repository"),
    (new_file(".git/hooks/pre-commit", "touch /tmp/x"), "'.git/hooks/pre-commit' is inside .git"),
    (new_file("sub/.GIT/config"), "is inside .git"),
    (rename("calc.py", ".git/hooks/post-checkout"), "'.git/hooks/post-checkout' is inside .git"),
    (rename("../../home/user/.ssh/id_rsa", "stolen"), "leaves the repository"),
    ("diff --git a/.git/config b/.git/config\nold mode 100644\nnew mode 100755\n", "inside .git"),
    (link("passwd", "/etc/passwd"), "symbolic link 'passwd' points outside the repository"),
    (link("sub/up", "../../.."), "symbolic link 'sub/up' points outside"),
    # a C-quoted name, \056 being "."
    ('diff --git "a/\\056git/config" "b/\\056git/config"\nnew file mode 100644\n--- /dev/null\n'
     '+++ "b/\\056git/config"\n@@ -0,0 +1 @@\n+pwned\n', "'.git/config' is inside .git"),
]


@pytest.mark.parametrize(("patch", "message"), REFUSED)
def test_a_patch_reaching_out_is_refused(tmp_path: Path, patch: str, message: str) -> None:
    repo = make_repo(tmp_path)
    before = tree_state(repo)
    patch_file = tmp_path / "patch.diff"
    patch_file.write_text(new_file("fine.txt", "ok") + patch)
    with pytest.raises(WorkAreaError) as info:
        apply_patch(repo, patch_file)
    assert message in str(info.value) and "nothing was changed" in str(info.value)
    assert tree_state(repo) == before and not (repo / "fine.txt").exists()
    assert not (tmp_path / "outside.txt").exists()


def test_an_honest_patch_with_odd_names_applies(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    names = ["new\nline", "-rf", "tab\there", "esc\x1b[2J", "naïve"]
    for name in names:
        (other / name).write_text("x\n")
    (other / "inside").symlink_to("calc.py")
    git(other, "add", "-A")
    patch = tmp_path / "odd.diff"
    patch.write_text(git(other, "diff", "--cached", "--binary"))
    apply_patch(repo, patch)
    assert all((repo / n).read_text() == "x\n" for n in names)
    assert (repo / "inside").is_symlink() and str((repo / "inside").readlink()) == "calc.py"


def test_a_plain_directory_gets_the_same_checks(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("one\n")
    patch = tmp_path / "p.diff"
    patch.write_text("diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n")
    apply_patch(plain, patch)
    assert (plain / "a.txt").read_text() == "two\n" and not (plain / ".git").exists()
    patch.write_text(new_file(".git/config"))
    with pytest.raises(WorkAreaError, match=r"inside \.git"):
        apply_patch(plain, patch)
    assert sorted(p.name for p in plain.iterdir()) == ["a.txt"]
