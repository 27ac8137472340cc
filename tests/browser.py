"""A real headless Chromium (Debian's), driven by Playwright: no browser is downloaded.

Screenshots and PDFs are kept in ``test-artifacts/`` (or ``$CARTOGRAPHIE_ARTIFACTS``) so a
person can look at what the tests saw.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(os.environ.get("CARTOGRAPHIE_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "test-artifacts"))


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")



def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
