"""The web page in a real browser: Debian's Chromium driven by selenium through chromedriver, headless,
against ``ptpipd`` subprocesses (the built-in simulator, or a ``ptpipd-sim`` subprocess where the test kills
the camera or needs 30 fps).

One browser per module (starting one takes a second or two). Screenshots go to :data:`ARTIFACTS`
(``.artifacts/page`` in the repository, ignored by git; ``PTPIPD_ARTIFACTS`` moves it), printed at the end of
the run. Every wait has a deadline and polls the page's own state (the DOM), never a fixed sleep.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.procs import REPO, DaemonProcess, running_daemon
from tests.web.conftest import http_port

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the test extra) is not installed")
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("PTPIPD_ARTIFACTS", REPO / ".artifacts")) / "page"
PTPIPCTL = Path(sys.executable).with_name("ptpipctl")

#: The flags the brief asks for: nothing in the browser talks to anything but the page's daemon.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--password-store=basic",
)

PHONE = (390, 844)
DESKTOP = (1280, 800)


@dataclass
class Browser:
    """A Chromium session and what it logged."""

    driver: WebDriver
    profile: Path
    console: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def drain_logs(self) -> None:
        """Moves the browser's console and network logs into ``console`` and ``requests``."""
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self.requests.append(params["url"])

    def wait(self, condition: Callable[[WebDriver], Any], timeout: float = 10.0, what: str = "") -> Any:
        """Polls ``condition`` every 50 ms until it is truthy; fails after ``timeout`` s saying ``what``. An
        element the page re-rendered between finding and reading it (stale) is read again at the next poll."""
        try:
            waiting = WebDriverWait(
                self.driver,
                timeout,
                poll_frequency=0.05,
                ignored_exceptions=(StaleElementReferenceException,),
            )
            return waiting.until(condition)
        except TimeoutException:
            raise AssertionError(f"not within {timeout} s: {what or condition}") from None

    def leave(self) -> None:
        """Leaves the page (its WebSocket and live view close), before its daemon stops."""
        with contextlib.suppress(Exception):
            self.driver.get("about:blank")

    def by_id(self, element_id: str) -> WebElement:
        return self.driver.find_element("id", element_id)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        """The page's viewport in CSS pixels (device metrics, as DevTools' device mode sets them)."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def screenshot(self, name: str, full: bool = False) -> Path:
        """A PNG of the viewport (or of the whole page) in :data:`ARTIFACTS`."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full}
        )
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        _written.append(path)
        return path


_written: list[Path] = []
_figures: dict[str, str] = {}


def report(name: str, value: str) -> None:
    """A figure the tests measured (not asserted on time): printed at the end of the run and kept in
    ``ARTIFACTS/figures.json``."""
    _figures[name] = value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "figures.json").write_text(json.dumps(_figures, indent=1) + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Where the screenshots went, and the figures measured."""
    for name, value in _figures.items():
        terminalreporter.write_line(f"page: {name}: {value}")
    if _written:
        terminalreporter.write_line(f"page screenshots ({len(_written)}): {ARTIFACTS}")


def start_browser() -> Browser:
    """A fresh headless Chromium with its own profile directory."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed (make test installs them as root)")
    profile = Path(tempfile.mkdtemp(prefix="ptpipd-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return Browser(driver, profile)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = start_browser()
    try:
        yield b
    finally:
        with contextlib.suppress(Exception):
            b.driver.quit()
        shutil.rmtree(b.profile, ignore_errors=True)


# ------------------------------------------------------------------------------------------ daemons


@dataclass
class Site:
    """A daemon whose page the browser opens: its HTTP origin and its JSON-RPC socket (for ptpipctl)."""

    daemon: DaemonProcess
    origin: str
    name: str = "page"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The installed ``ptpipctl`` against this daemon's Unix socket; fails the test on a non-zero exit."""
        done = subprocess.run(
            [str(PTPIPCTL), "--socket", str(self.daemon.socket_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"ptpipctl {' '.join(args)}: {done.returncode} {done.stderr}"
        return done

    def get(self, prop: str) -> dict[str, Any]:
        return dict(json.loads(self.ctl("get", prop, "--json").stdout))


@contextlib.contextmanager
def running_site(workdir: Path, name: str, *args: str, env: dict[str, str] | None = None) -> Iterator[Site]:
    """``ptpipd ARGS`` with HTTP on a free loopback port (``name`` names its screenshots)."""
    with running_daemon(workdir, *args, env=env) as daemon:
        yield Site(daemon, f"http://127.0.0.1:{http_port(daemon)}", name)


def open_page(browser: Browser, site: Site, state: str = "connected", timeout: float = 20.0) -> None:
    """Navigates to the page and waits for the connection state (and, once connected, the settings).
    The logs gathered before are dropped: ``browser.console`` and ``requests`` are this page's."""
    browser.drain_logs()
    browser.console.clear()
    browser.requests.clear()
    browser.driver.get(site.url("/"))
    browser.wait(
        lambda d: d.find_element("id", "conn").get_attribute("data-state") == state,
        timeout,
        f"the page shows {state}",
    )
    if state == "connected":
        browser.wait(lambda d: d.find_elements("css selector", "#props .prop"), timeout, "the settings")


def ensure_page(browser: Browser, site: Site) -> None:
    """The page of ``site`` is open and connected (opened when the browser shows anything else)."""
    if not browser.driver.current_url.startswith(site.origin + "/"):
        open_page(browser, site)
    else:
        browser.wait(
            lambda d: d.find_element("id", "conn").get_attribute("data-state") == "connected", 20, "connected"
        )


def own_origin(urls: list[str], origin: str) -> list[str]:
    """The URLs that go anywhere but ``origin`` (its ws:// twin included); data: and blob: are local."""
    host = urlsplit(origin).netloc
    return [
        u
        for u in urls
        if not (
            u.startswith(("data:", "blob:"))
            or (urlsplit(u).scheme in ("http", "ws") and urlsplit(u).netloc == host)
        )
    ]


def screenshots(browser: Browser, name: str) -> list[Path]:
    """The page on a phone (390×844, touch) and on a desktop (1280×800): the viewport, then the whole page."""
    paths = []
    try:
        for (width, height), kind in ((PHONE, "phone"), (DESKTOP, "desktop")):
            browser.viewport(width, height, mobile=kind == "phone")
            assert browser.js("return [innerWidth, innerHeight]") == [width, height]
            # nothing sticks out sideways (a phone would scroll the whole page left and right)
            assert browser.js("return document.documentElement.scrollWidth") <= width, f"{kind}: too wide"
            paths.append(browser.screenshot(f"{name}-{kind}-{width}x{height}"))
            paths.append(browser.screenshot(f"{name}-{kind}-full", full=True))
    finally:
        browser.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return paths
