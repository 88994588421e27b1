"""Headless Chromium (Debian's package) driven by Playwright, for the HTML reports (issue 12).

`show(html, name)` writes a report to the test's temporary folder, opens it from file:// with the network cut,
and returns the page after checking that nothing was fetched and nothing was logged as a console error; it writes a
screenshot beside it (and the top of the page under docs/screenshots/ when VPCLAB_SCREENSHOTS=docs and the name is
one of DOCS_NAMES, so the README's pictures are made by this same code). In CI (CI=true) a missing browser is a
failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DOCS_NAMES = {"lab-run", "lab-diff", "reach", "matrix", "audit", "tighten", "replay"}
DOCS_HEIGHT = 1400
"""The one screenshot of each report kind the README shows (other tests' screenshots stay in their tmp_path)."""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole session."""
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        sync_playwright = None  # type: ignore[assignment]
    if executable is None or sync_playwright is None:
        reason = "Debian's chromium and the playwright package are needed for the HTML report tests"
        if os.environ.get("CI"):
            pytest.fail(reason + " (make test installs them when run as root)")
        pytest.skip(reason)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Shown:
    """An opened report: the page, what it tried to fetch, what it logged as errors, its screenshot."""

    page: Any
    path: Path
    screenshot: Path
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def show(browser: Any, tmp_path: Path) -> Iterator[Callable[..., Shown]]:
    """Open a report from file:// offline; assert no fetch and no console error; screenshot it."""
    contexts: list[Any] = []

    def open_report(html: str, name: str, width: int = 1280, height: int = 900, full_page: bool = True) -> Shown:
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
        contexts.append(context)
        page = context.new_page()
        shown = Shown(page, path, tmp_path / f"{name}.png")

        def record(request: Any) -> None:
            if request.url != path.as_uri() and not request.url.startswith("data:"):
                shown.requests.append(request.url)

        page.on("request", record)
        page.route("http*://**/*", lambda r: r.abort())  # and the context is offline: nothing leaves
        page.on("console", lambda m: shown.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: shown.errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(shown.screenshot), full_page=full_page)
        if os.environ.get("VPCLAB_SCREENSHOTS") == "docs" and name in DOCS_NAMES:
            DOCS.mkdir(parents=True, exist_ok=True)  # the top of the page: what a README reader sees first
            tall = page.evaluate("document.documentElement.scrollHeight")
            page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True,
                            clip={"x": 0, "y": 0, "width": width, "height": min(DOCS_HEIGHT, tall)})
        assert shown.requests == [], f"the report fetched {shown.requests}"
        assert shown.errors == [], f"console errors: {shown.errors}"
        return shown

    yield open_report
    for context in contexts:
        context.close()
