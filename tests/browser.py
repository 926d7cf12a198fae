"""Headless Chromium for the tests of the HTML reports: pages are opened as a person opens them (a file on
disk, in a real browser, scripts running), looked at (a screenshot of each, kept under .cache/screenshots/
for a person to look at), and asserted on as rendered.

Debian's `chromium` and `chromium-driver` (`make chromium` installs them; `make test` does on first use),
driven by selenium through the driver of the same Debian version: nothing is downloaded at test time.
The browser runs without network access to anything but the files it is given (a page that fetched
anything would fail its test: see `Browser.requests`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support import ROOT

SCREENSHOTS = ROOT / ".cache" / "screenshots"
CHROMIUM = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
DRIVER = "/usr/bin/chromedriver"


class Browser:
    """One headless Chromium (selenium's webdriver), reused by the tests of a session."""

    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        os.environ.setdefault("SE_OFFLINE", "true")  # selenium's manager: never look for a browser online
        binary = next((b for b in CHROMIUM if Path(b).exists()), None)
        if binary is None or not Path(DRIVER).exists():
            pytest.fail("Chromium and its driver are not installed: `make chromium` installs Debian's "
                        "chromium and chromium-driver")
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                    "--disable-background-networking", "--disable-sync", "--disable-component-update",
                    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        self.driver.set_page_load_timeout(60)

    def open(self, path: Path) -> None:
        """Open a file from disk, as a double click would."""
        self.driver.get(Path(path).resolve().as_uri())

    def screenshot(self, name: str) -> Path:
        """A screenshot of the whole page, under .cache/screenshots/<name>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        out = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9._-]+", "-", name) + ".png")
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1400, min(max(int(height), 600), 12000))
        self.driver.get_screenshot_as_file(str(out))
        self.driver.set_window_size(1400, 1000)
        assert out.stat().st_size > 1000, f"the screenshot {out} is empty"
        return out

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def texts(self, css: str) -> list[str]:
        """The rendered text of every element matching a CSS selector."""
        return self.js("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)", css)

    def count(self, css: str) -> int:
        return self.js("return document.querySelectorAll(arguments[0]).length", css)

    def requests(self) -> list[str]:
        """The URLs the page asked for beside the files it was opened from (self-contained: none)."""
        import json

        urls = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                url = msg["params"]["request"]["url"]
                if not url.startswith(("file://", "data:", "about:")):
                    urls.append(url)
        return urls

    def errors(self) -> list[str]:
        """What the page's scripts logged as errors (a broken script is a broken page)."""
        return [e["message"] for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture(scope="session")
def browser():
    b = Browser()
    try:
        yield b
    finally:
        b.close()
