"""Fetches the pinned third-party pieces of vendor.lock from the package mirror into
build/vendor, and checks their hashes.

The mirror stands in for the registry the build host downloads from: it keeps the
registry's answer time (a delay per download), so that a build takes here what it
takes there. BENCH_SCALE at the root scales the delay.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT / "mirror"
#: Seconds per download from the registry.
DOWNLOAD_S = 0.9


def scale() -> float:
    path = ROOT / "BENCH_SCALE"
    return float(path.read_text().strip() or 1) if path.exists() else 1.0


def main(lock: Path, dest: Path) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    for line in lock.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, version, filename, sha = line.split()
        time.sleep(DOWNLOAD_S * scale())
        data = (MIRROR / filename).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            print(f"{name} {version}: hash mismatch", file=sys.stderr)
            return 1
        target = dest / name
        target.mkdir(exist_ok=True)
        shutil.copyfile(MIRROR / filename, target / filename)
        print(f"fetched {name} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
