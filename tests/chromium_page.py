"""A small headless-Chromium driver for the report's rendering test (DevTools protocol, no browser
download: Debian's ``chromium`` package).

Chromium is started with ``--remote-debugging-port=0`` on a new, empty profile; the port it chose
is read from the profile's ``DevToolsActivePort`` file and the page is driven over a websocket on
127.0.0.1 (``websocket-client``). Every call has a timeout; the browser is always ended.

Example:
    >>> with Chromium(CHROMIUM, tmp_path / "profile") as browser:          # doctest: +SKIP
    ...     browser.open("file:///tmp/report.html", width=1280, height=800)
    ...     data = browser.evaluate("document.title")
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

#: Flags every headless run here needs (no sandbox as root, no network, no first-run work).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--mute-audio", "--disable-extensions")


def find_chromium() -> str | None:
    """Path of Debian's Chromium (or another chromium on PATH), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class ChromiumError(RuntimeError):
    """Chromium did not start or a DevTools call failed."""


class Chromium:
    """One headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, executable: str, profile: Path, *, timeout: float = 60.0) -> None:
        self.executable = executable
        self.profile = Path(profile)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: Any = None

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> Chromium:
        import urllib.request

        import websocket

        self.profile.mkdir(parents=True, exist_ok=True)
        log = open(self.profile.parent / f"{self.profile.name}-chromium.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"],
            stdout=log, stderr=log, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None:
                raise ChromiumError(f"chromium exited with {self.proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                self.close()
                raise ChromiumError("chromium did not open its DevTools port in time")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout,
                                              suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(OSError):
                self.ws.close()
            self.ws = None
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)   # the profile is large and of no use afterwards

    # ------------------------------------------------------------------ protocol
    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise ChromiumError(f"{method}: {msg['error']}")
                return msg.get("result", {})
        raise ChromiumError(f"{method}: no answer in {self.timeout} s")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises are awaited)."""
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise ChromiumError(f"script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def open(self, url: str, *, width: int, height: int, mobile: bool = False) -> None:
        """Load ``url`` in a ``width`` × ``height`` viewport and wait until every image is decoded."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=mobile)
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise ChromiumError(f"{url} did not finish loading")
            time.sleep(0.1)
        self.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))"
                      ".then(() => document.fonts.ready).then(() => true)")

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        """A PNG of the viewport (or of the whole page) at 1 CSS pixel per pixel."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            w, h = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path
