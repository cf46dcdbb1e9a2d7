"""Issues from GitHub: an issue URL fetched through the REST API, or an Actions event payload.

Standard library only (urllib), so that ``solve URL`` and ``ci`` need no extra package and
the command line stays fast to start.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

PUBLIC_API = "https://api.github.com"
API_VERSION = "2022-11-28"
_ISSUE_URL = re.compile(
    r"^https?://(?P<host>[^/\s]+)/(?P<owner>[^/\s]+)/(?P<repo>[^/\s]+)/issues/(?P<number>\d+)/?(?:[#?]\S*)?$"
)


class GitHubError(Exception):
    """An issue that cannot be had. ``transient``: the service failed, not the request."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Issue:
    title: str
    body: str
    number: int | None = None
    url: str | None = None
    #: The comment that asked for the run (``issue_comment`` events).
    comment: str | None = None
    comment_author: str | None = None

    @property
    def text(self) -> str:
        """The task as the agent is given it. The first line names the issue, so that the
        branch made from it reads ``issue-<number>-<title>``."""
        head = f"Issue #{self.number}: {self.title}" if self.number is not None else self.title
        parts = [head + (f"\n{self.url}" if self.url else ""), self.body.strip()]
        if self.comment and self.comment.strip():
            who = f" by @{self.comment_author}" if self.comment_author else ""
            parts.append(f"Comment{who}:\n{self.comment.strip()}")
        return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True)
class IssueRef:
    host: str
    owner: str
    repo: str
    number: int

    def api_url(self, api_base: str) -> str:
        return f"{api_base.rstrip('/')}/repos/{self.owner}/{self.repo}/issues/{self.number}"


def parse_issue_url(text: str) -> IssueRef | None:
    """``https://HOST/OWNER/REPO/issues/N`` (github.com or a GitHub Enterprise host)."""
    m = _ISSUE_URL.match(text.strip())
    if m is None:
        return None
    return IssueRef(m["host"].lower(), m["owner"], m["repo"], int(m["number"]))


def api_base_for(ref: IssueRef, configured: str | None = None) -> tuple[str, bool]:
    """The API base for ``ref`` and whether a token may be sent to it.

    A configured base (``--github-api``, then ``GITHUB_API_URL``) wins. Otherwise github.com
    maps to the public API and another host to its Enterprise Server API, ``/api/v3``; a
    token is not sent to a base guessed from a URL, since any host can be named in one.
    """
    base = configured or os.environ.get("GITHUB_API_URL")
    if base:
        return base.rstrip("/"), True
    if ref.host in ("github.com", "www.github.com"):
        return PUBLIC_API, True
    return f"https://{ref.host}/api/v3", False


def token() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None


def fetch_issue(
    url: str,
    *,
    api_base: str | None = None,
    retries: int = 2,
    backoff_s: float = 1.0,
    timeout_s: float = 30.0,
) -> Issue:
    """``GET {api}/repos/OWNER/REPO/issues/N``; service failures are retried, others not."""
    ref = parse_issue_url(url)
    if ref is None:
        raise GitHubError(f"{url} is not an issue URL (https://github.com/OWNER/REPO/issues/N)")
    base, trusted = api_base_for(ref, api_base)
    endpoint = ref.api_url(base)
    secret = token() if trusted else None
    for attempt in range(retries + 1):
        try:
            data = _get_json(endpoint, secret, timeout_s)
            break
        except GitHubError as exc:
            if not exc.transient or attempt == retries:
                raise GitHubError(f"cannot fetch {url}: {exc}", transient=exc.transient) from None
            time.sleep(backoff_s * 2**attempt)
    return issue_from_api(data, f"GET {endpoint}")


def _get_json(endpoint: str, secret: str | None, timeout_s: float) -> Any:
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "asyncfc-agent",
    }
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    request = urllib.request.Request(endpoint, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, endpoint, bool(secret)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GitHubError(f"GET {endpoint}: {reason}", transient=True) from None
    try:
        return json.loads(raw)
    except ValueError:
        raise GitHubError(f"GET {endpoint}: the answer is not JSON", transient=True) from None


def _http_error(exc: urllib.error.HTTPError, endpoint: str, authenticated: bool) -> GitHubError:
    message = _error_message(exc)
    head = f"GET {endpoint}: HTTP {exc.code} {exc.reason}" + (f": {message}" if message else "")
    # a rate limit or a server fault is the service's, and may pass; the rest is the request's
    limited = exc.code == 429 or (exc.code == 403 and _rate_limited(exc.headers, message))
    if limited or exc.code >= 500:
        return GitHubError(head, transient=True)
    if exc.code == 401:
        head += " (check GITHUB_TOKEN)"
    elif exc.code in (403, 404) and not authenticated:
        head += " (no token was sent: a private repository needs GITHUB_TOKEN)"
    return GitHubError(head)


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return " ".join(str(message).split()) if message else ""


def _rate_limited(headers: Message | None, message: str) -> bool:
    remaining = headers.get("x-ratelimit-remaining") if headers is not None else None
    return remaining == "0" or "rate limit" in message.lower()


def issue_from_api(data: Any, origin: str) -> Issue:
    """An issue from the REST API's issue object (``title``, ``body``, ``number``, ``html_url``)."""
    if not isinstance(data, dict):
        raise GitHubError(f"{origin}: expected an issue object, got {type(data).__name__}")
    title, number, body = data.get("title"), data.get("number"), data.get("body")
    if not isinstance(title, str) or not title.strip():
        raise GitHubError(f"{origin}: the issue has no title")
    if not isinstance(number, int) or isinstance(number, bool):
        raise GitHubError(f"{origin}: the issue has no number")
    if body is not None and not isinstance(body, str):
        raise GitHubError(f"{origin}: the issue body is not text")
    url = data.get("html_url")
    return Issue(title.strip(), body or "", number, url if isinstance(url, str) else None)


def issue_from_event(path: Path) -> Issue:
    """The issue of an ``issues`` or ``issue_comment`` event payload (``GITHUB_EVENT_PATH``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GitHubError(f"cannot read the event payload {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise GitHubError(f"the event payload {path} is not JSON ({exc})") from None
    event = os.environ.get("GITHUB_EVENT_NAME")
    kind = f" ({event} event)" if event else ""
    if not isinstance(data, dict) or not isinstance(data.get("issue"), dict):
        raise GitHubError(f"the event payload {path}{kind} holds no issue: "
                          "use an issues or issue_comment event, or give --issue")
    issue = issue_from_api(data["issue"], f"the event payload {path}")
    comment = data.get("comment")
    if not isinstance(comment, dict):
        return issue
    body = comment.get("body")
    user = comment.get("user")
    author = user.get("login") if isinstance(user, dict) else None
    return Issue(issue.title, issue.body, issue.number, issue.url,
                 body if isinstance(body, str) else None, author if isinstance(author, str) else None)
