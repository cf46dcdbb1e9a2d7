"""GitHub issues: URLs fetched from a local HTTP server that answers as the REST API does (the
recorded issue, or GitHub's error objects), and Actions event payloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from asyncfc_agent.agent import github
from asyncfc_agent.agent.github import GitHubError, Issue, IssueRef
from support import make_repo

FIXTURES = Path(__file__).parent / "fixtures" / "github"
ISSUE = json.loads((FIXTURES / "issue.json").read_text())
URL = "https://github.com/octo-org/calc/issues/7"
PATH = "/repos/octo-org/calc/issues/7"


@dataclass
class FakeAPI:
    """What the server answers per path (status, JSON body), and the requests it saw."""

    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base: str = ""


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    state = FakeAPI(answers={PATH: (200, ISSUE)})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            status, body = state.answers.get(self.path, (404, {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/issues/issues#get-an-issue",
                "status": "404",
            }))
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def no_github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_API_URL", "GITHUB_TOKEN", "GH_TOKEN", "GITHUB_EVENT_NAME"):
        monkeypatch.delenv(name, raising=False)


# -- URLs and the API base -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        (URL, IssueRef("github.com", "octo-org", "calc", 7)),
        (URL + "/", IssueRef("github.com", "octo-org", "calc", 7)),
        (URL + "#issuecomment-1081119", IssueRef("github.com", "octo-org", "calc", 7)),
        ("https://GHE.example.com/team/app/issues/12", IssueRef("ghe.example.com", "team", "app", 12)),
        ("https://github.com/octo-org/calc/pull/7", None),
        ("https://github.com/octo-org/calc/issues", None),
        ("Fix https://github.com/octo-org/calc/issues/7 please", None),
        ("fix the parser", None),
    ],
)
def test_issue_urls_are_recognised(text: str, ref: IssueRef | None) -> None:
    assert github.parse_issue_url(text) == ref


def test_the_api_base_is_configured_or_follows_the_host(
    no_github_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = IssueRef("github.com", "o", "r", 1)
    enterprise = IssueRef("ghe.example.com", "o", "r", 1)
    assert github.api_base_for(public) == ("https://api.github.com", True)
    # a base guessed from a URL gets no token: any host can be named in a URL
    assert github.api_base_for(enterprise) == ("https://ghe.example.com/api/v3", False)
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    assert github.api_base_for(enterprise) == ("https://ghe.example.com/api/v3", True)
    assert github.api_base_for(public, "http://127.0.0.1:9") == ("http://127.0.0.1:9", True)


# -- fetching ------------------------------------------------------------------------------


def test_an_issue_is_fetched_with_the_token_and_the_api_headers(
    api: FakeAPI, no_github_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    issue = github.fetch_issue(URL, api_base=api.base)
    assert issue == Issue(
        "add() subtracts instead of adding",
        "`add(2, 3)` returns -1; it should return 5.\n\n`test_calc.py::test_add` fails.",
        7, URL,
    )
    path, headers = api.requests[0]
    assert path == PATH
    assert headers["authorization"] == "Bearer ghs_secret"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28" and headers["user-agent"]


def test_without_a_token_no_authorization_is_sent(api: FakeAPI, no_github_env: None) -> None:
    github.fetch_issue(URL, api_base=api.base)
    assert "authorization" not in api.requests[0][1]


def test_a_missing_issue_is_a_clear_error_not_retried(api: FakeAPI, no_github_env: None) -> None:
    url = "https://github.com/octo-org/calc/issues/8"
    with pytest.raises(GitHubError) as err:
        github.fetch_issue(url, api_base=api.base)
    assert str(err.value) == (
        f"cannot fetch {url}: GET {api.base}/repos/octo-org/calc/issues/8: HTTP 404 Not Found: "
        "Not Found (no token was sent: a private repository needs GITHUB_TOKEN)"
    )
    assert not err.value.transient and len(api.requests) == 1


def test_bad_credentials_name_the_token(
    api: FakeAPI, no_github_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "expired")
    api.answers[PATH] = (401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                               "status": "401"})
    with pytest.raises(GitHubError, match=r"HTTP 401 Unauthorized: Bad credentials \(check GITHUB_TOKEN\)$"):
        github.fetch_issue(URL, api_base=api.base)


def test_server_errors_are_retried_then_transient(api: FakeAPI, no_github_env: None) -> None:
    api.answers[PATH] = (502, {"message": "Server Error"})
    with pytest.raises(GitHubError, match="HTTP 502 Bad Gateway: Server Error") as err:
        github.fetch_issue(URL, api_base=api.base, retries=2, backoff_s=0.01)
    assert err.value.transient and len(api.requests) == 3


def test_a_rate_limit_is_transient(api: FakeAPI, no_github_env: None) -> None:
    api.answers[PATH] = (403, {"message": "API rate limit exceeded for 127.0.0.1."})
    with pytest.raises(GitHubError, match="rate limit exceeded") as err:
        github.fetch_issue(URL, api_base=api.base, retries=0)
    assert err.value.transient


def test_an_unreachable_api_is_transient(no_github_env: None) -> None:
    with pytest.raises(GitHubError, match=r"GET http://127\.0\.0\.1:1/repos/.*refused") as err:
        github.fetch_issue(URL, api_base="http://127.0.0.1:1", retries=1, backoff_s=0.01)
    assert err.value.transient


def test_an_answer_that_is_not_an_issue_is_an_error(api: FakeAPI, no_github_env: None) -> None:
    api.answers[PATH] = (200, [ISSUE])
    with pytest.raises(GitHubError, match="expected an issue object, got list"):
        github.fetch_issue(URL, api_base=api.base)


# -- event payloads and the task text ------------------------------------------------------


def test_an_issues_event_gives_the_issue() -> None:
    issue = github.issue_from_event(FIXTURES / "event_issues_labeled.json")
    assert (issue.number, issue.title, issue.url, issue.comment) == (
        7, "add() subtracts instead of adding", URL, None)
    assert issue.text == (
        f"Issue #7: add() subtracts instead of adding\n{URL}\n\n"
        "`add(2, 3)` returns -1; it should return 5.\n\n`test_calc.py::test_add` fails."
    )


def test_an_issue_comment_event_adds_the_comment() -> None:
    issue = github.issue_from_event(FIXTURES / "event_issue_comment.json")
    assert issue.comment_author == "hubot"
    assert issue.text.endswith("\n\nComment by @hubot:\n/asyncfc Keep the signature of add() as it is.")


def test_a_payload_without_an_issue_names_the_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"ref": "refs/heads/main"}')
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    with pytest.raises(GitHubError, match=r"event\.json \(push event\) holds no issue") as err:
        github.issue_from_event(event)
    assert not err.value.transient


def test_an_issue_with_a_null_body_is_its_title() -> None:
    issue = github.issue_from_api({**ISSUE, "body": None, "html_url": None}, "test")
    assert issue.text == "Issue #7: add() subtracts instead of adding"


# -- the command line ----------------------------------------------------------------------


def cli(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
    return subprocess.run(
        [sys.executable, "-m", "asyncfc_agent.cli", *args], capture_output=True, text=True,
        env={**base, "ASYNCFC_HOME": str(home), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **env},
        timeout=300,
    )


@pytest.fixture
def calc(tmp_path: Path) -> Path:
    root: Path = make_repo(tmp_path)
    return root


def test_solve_takes_an_issue_url(api: FakeAPI, calc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = cli("solve", URL, "--repo", str(calc), "--model", f"scripted/{FIXTURES}/scripts/fix.yaml",
               "--sandbox", "local", "--plain", "--out", str(out), home=tmp_path / "home",
               GITHUB_API_URL=api.base, GITHUB_TOKEN="ghs_secret")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == (
        f"Issue #7: add() subtracts instead of adding\n{URL}\n\n"
        "`add(2, 3)` returns -1; it should return 5.\n\n`test_calc.py::test_add` fails."
    )
    assert result["branch"] == "asyncfc/issue-7-add-subtracts-instead-of-adding"
    assert api.requests[0][1]["authorization"] == "Bearer ghs_secret"


@pytest.mark.parametrize(
    ("status", "body", "line"),
    [
        (404, None, "HTTP 404 Not Found: Not Found (no token was sent: a private repository needs GITHUB_TOKEN)"),
        (401, {"message": "Bad credentials"}, "HTTP 401 Unauthorized: Bad credentials (check GITHUB_TOKEN)"),
    ],
)
@pytest.mark.parametrize("command", ["solve", "ci"])
def test_a_failed_fetch_exits_2_with_one_line(
    api: FakeAPI, calc: Path, tmp_path: Path, command: str, status: int, body: Any, line: str
) -> None:
    if body is not None:
        api.answers[PATH] = (status, body)
    else:
        del api.answers[PATH]
    args = [URL] if command == "solve" else ["--issue-url", URL]
    token = {"GITHUB_TOKEN": "expired"} if status == 401 else {}
    proc = cli(command, *args, "--repo", str(calc), "--model", "scripted/none.yaml",
               home=tmp_path / "home", GITHUB_API_URL=api.base, **token)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == f"error: cannot fetch {URL}: GET {api.base}{PATH}: {line}\n"


def test_an_unreachable_api_exits_3(calc: Path, tmp_path: Path) -> None:
    proc = cli("solve", URL, "--repo", str(calc), home=tmp_path / "home",
               GITHUB_API_URL="http://127.0.0.1:1")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"error: cannot fetch {URL}: GET http://127.0.0.1:1{PATH}: ")
    assert proc.stderr.count("\n") == 1


def test_ci_takes_an_issue_url_and_an_api_base(api: FakeAPI, calc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = cli("ci", "--issue-url", URL, "--github-api", api.base, "--repo", str(calc),
               "--model", f"scripted/{FIXTURES}/scripts/fix.yaml", "--sandbox", "local",
               "--out", str(out), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["issue"] == {"title": "add() subtracts instead of adding", "source": "url",
                               "number": 7, "url": URL}
    assert report["branch"] == "asyncfc/issue-7-add-subtracts-instead-of-adding"
