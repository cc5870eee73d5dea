"""Real servers and a real browser for the end-to-end tests (issue 5).

Starts ``streamlit run dashboard.py`` and ``oidc-provider-mock`` as subprocesses on free
loopback ports, each polled until it answers, and drives Debian's Chromium through
Playwright (never Playwright's own browser download). Screenshots go to
``artifacts/screenshots/`` (not committed) so a CI run keeps a picture of every page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "dashboard.py"
SHIPPED_CONFIG = REPO / ".streamlit" / "config.toml"
SCREENSHOTS = REPO / "artifacts" / "screenshots"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
)
#: Set to 1 to skip the browser tests on a quick local run; CI never sets it.
SKIP_ENV = "CAPA_SKIP_BROWSER"

# Streamlit's first start imports pandas, plotly and friends on a busy 2-core machine.
SERVER_START_TIMEOUT_S = 90.0
#: Playwright's default wait for a page element: generous, since reruns compete for CPU.
UI_TIMEOUT_MS = 60_000


def require_chromium() -> Path:
    """Debian's Chromium, or a test failure saying how to install it (skip only on request)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"browser tests skipped because {SKIP_ENV}=1")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Debian's Chromium is not installed at {CHROMIUM}: run `bash scripts/browser_deps.sh` "
            f"(or set {SKIP_ENV}=1 to skip the browser tests on a quick local run).",
            pytrace=False,
        )
    return CHROMIUM


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    """Poll ``url`` until it returns 200; fail with the server's log if it dies or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode} before answering {url}:\n"
                        f"{_tail(log)}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"no answer from {url} within {timeout_s:.0f} s:\n{_tail(log)}", pytrace=False)


@contextmanager
def running(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path,
            ready_url: str, timeout_s: float = SERVER_START_TIMEOUT_S) -> Iterator[None]:
    """Run ``command`` until the block ends; it is ready when ``ready_url`` answers."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env},
                                   stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(ready_url, process, log, timeout_s)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class OidcProvider:
    base_url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"


@contextmanager
def oidc_provider(users: Sequence[Mapping[str, object]], workdir: Path) -> Iterator[OidcProvider]:
    """``oidc-provider-mock`` on a loopback port with predefined users.

    Each user is a claims mapping with a ``sub``; the provider's authorize page shows one
    button per ``sub`` under "Authenticate predefined users", and the ID token carries the
    user's claims (``email``/``name`` for the scopes Streamlit asks, others such as ``roles``
    always).
    """
    port = free_port()
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
               "--port", str(port)]
    for user in users:
        command += ["--user-claims", json.dumps(dict(user))]
    provider = OidcProvider(base_url=f"http://127.0.0.1:{port}")
    with running(command, cwd=workdir, env={"NO_COLOR": "1"}, log=workdir / "oidc.log",
                 ready_url=provider.metadata_url):
        yield provider


@dataclass(frozen=True)
class Dashboard:
    url: str
    database_url: str
    log: Path


def auth_secrets(app_port: int, provider: OidcProvider, manager_emails: Sequence[str]) -> str:
    """A secrets.toml requiring sign-in through ``provider``, with the given managers."""
    managers = ", ".join(json.dumps(email) for email in manager_emails)
    return (
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        'cookie_secret = "browser-test-cookie-secret-not-for-production"\n'
        'client_id = "capa-monitor-browser-test"\n'
        'client_secret = "browser-test-client-secret"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
        "\n[capa]\n"
        f"manager_emails = [{managers}]\n"
    )


@contextmanager
def dashboard(workdir: Path, *, secrets: str | None = None, port: int | None = None,
              env: Mapping[str, str] | None = None) -> Iterator[Dashboard]:
    """``streamlit run dashboard.py`` on 127.0.0.1 with its own temp store and settings.

    The working directory is ``workdir`` (so the repo's own secrets are never read), holding
    the shipped config.toml and, when given, ``secrets`` as ``.streamlit/secrets.toml``.
    ``env``: more environment for the server (say CAPA_PREWORK=1, which the tests turn off).
    """
    if not DASHBOARD.is_file():
        pytest.fail(f"{DASHBOARD} does not exist yet", pytrace=False)
    port = port or free_port()
    streamlit_dir = workdir / ".streamlit"
    streamlit_dir.mkdir(parents=True, exist_ok=True)
    if SHIPPED_CONFIG.is_file():
        shutil.copyfile(SHIPPED_CONFIG, streamlit_dir / "config.toml")
    if secrets is not None:
        (streamlit_dir / "secrets.toml").write_text(secrets, encoding="utf-8")
    database_url = f"sqlite:///{workdir / 'capa.sqlite'}"
    more = dict(env or {})
    env = {
        "CAPA_DATABASE_URL": database_url,
        # Keep the pseudonym key and manager list of the developer's machine out of the test.
        "CAPA_PSEUDONYM_KEY": "browser-test-pseudonym-key",
        "CAPA_KEY_FILE": str(workdir / "pseudonym.key"),
        "CAPA_MANAGER_EMAILS": "",
        "HOME": str(workdir),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        **more,
    }
    command = [
        sys.executable, "-m", "streamlit", "run", str(DASHBOARD),
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]
    url = f"http://127.0.0.1:{port}"
    log = workdir / "streamlit.log"
    with running(command, cwd=workdir, env=env, log=log, ready_url=f"{url}/_stcore/health"):
        yield Dashboard(url=url, database_url=database_url, log=log)


@contextmanager
def chromium_browser() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright; yields the Playwright ``Browser``."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable),
                                             args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


#: The browser window of the tests: a common laptop width, tall enough for most pages.
VIEWPORT = {"width": 1400, "height": 1800}


@contextmanager
def browser_page(browser, name: str, *, color_scheme: str = "light") -> Iterator[object]:
    """A fresh browser context and page (own cookies, downloads allowed) for one user.

    ``color_scheme`` is what the browser tells the app the system prefers ("light" or
    "dark"); the app follows it, so a dark-theme picture needs no click in the app.
    When the block fails, the page is saved as ``artifacts/screenshots/FAILED-<name>.png``
    so a CI failure shows what the browser showed.
    """
    screenshot_path(f"FAILED-{name}").unlink(missing_ok=True)  # from an earlier run
    context = browser.new_context(accept_downloads=True, viewport=VIEWPORT,
                                  color_scheme=color_scheme)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    except BaseException:
        with suppress(Exception):  # the failure itself matters more than its picture
            screenshot(page, f"FAILED-{name}")
        raise
    finally:
        context.close()


def wait_for_app(page) -> None:
    """Wait until Streamlit has finished a script run for the page just loaded.

    After an in-app click the state may still read "notRunning" before the rerun starts,
    so tests then wait for the element they expect rather than for this.
    """
    page.wait_for_load_state("domcontentloaded")
    # Streamlit's app root carries the script run state ("initial" -> "running" ->
    # "notRunning"); the attribute is what Streamlit's own e2e tests wait on.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )


def expect_no_app_error(page, log: Path | None = None) -> None:
    """Fail when the page shows Streamlit's uncaught-exception box (details go to the log)."""
    if page.get_by_text("This app has encountered an error").count() or page.locator(
        '[data-testid="stException"]'
    ).count():
        detail = _tail(log) if log else "(see streamlit.log in the test's temp directory)"
        pytest.fail(f"the app showed an error on {page.url}:\n{detail}", pytrace=False)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as ``artifacts/screenshots/<name>.png``."""
    path = screenshot_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def layout_problems(page) -> list[str]:
    """What a reader could not see whole on this page, as short descriptions: blocks reaching
    past the right edge of the window, tables that must be scrolled sideways, and metric
    tiles whose value or label is cut off."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const found = [];
            const name = (el) => (el.innerText || '').trim().split('\\n')[0].slice(0, 40);
            for (const el of document.querySelectorAll(
                    '[data-testid="stDataFrame"], [data-testid="stTable"], ' +
                    '[data-testid="stPlotlyChart"], [data-testid="stVegaLiteChart"], ' +
                    '[data-testid="stMetric"]')) {
                const box = el.getBoundingClientRect();
                if (box.width && box.right > width + 1) {
                    found.push(`${el.dataset.testid} "${name(el)}" reaches ${Math.round(box.right)} px of ${width}`);
                }
            }
            for (const grid of document.querySelectorAll('[data-testid="stDataFrame"]')) {
                const scroller = grid.querySelector('.dvn-scroller');
                if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) {
                    found.push(`table needs sideways scrolling (${scroller.scrollWidth} px in ${scroller.clientWidth} px)`);
                }
            }
            for (const part of document.querySelectorAll(
                    '[data-testid="stMetricValue"] div, [data-testid="stMetricLabel"] p')) {
                if (part.scrollWidth > part.clientWidth + 1) {
                    found.push(`metric text cut off: "${name(part)}"`);
                }
            }
            return found;
        }"""
    )


def screenshot_path(name: str) -> Path:
    return SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
