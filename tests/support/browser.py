"""A real browser for the page tests: Debian's chromium driven by Playwright, with the network cut off and recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium; the test fails (never skips) when the browser is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OfflineVisit:
    """What happened while a page was open: console errors, requests that tried to leave the file system."""

    errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def visit_offline(browser: Any, path: Path, inspect: Callable[[Any], Any]) -> tuple[OfflineVisit, Any]:
    """Open ``path`` from disk with every request outside file:/data:/blob:/about: blocked and recorded, wait until
    the network is idle, and return the visit and ``inspect(page)``."""
    visit = OfflineVisit()
    context = browser.new_context(viewport={"width": 1200, "height": 900})

    def route(request_route: Any) -> None:
        url = request_route.request.url
        visit.requests.append(url)
        if url.startswith(LOCAL_SCHEMES):
            request_route.continue_()
        else:
            visit.outside_requests.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and visit.errors.append(message.text))
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    try:
        page.goto(path.as_uri(), wait_until="networkidle")
        return visit, inspect(page)
    finally:
        context.close()
