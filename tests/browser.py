"""Open an HTML file in headless Chromium and report what a reader would see: console errors, images, a screenshot.

A tiny client of the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (the browser reads commands on file
descriptor 3 and writes replies and events on 4, each message JSON ended by a NUL byte): no websocket library and
no port. One ``check_page`` call starts a fresh browser with a throwaway profile, loads the page at a given
viewport width, collects every console error, uncaught exception and error log entry (a blocked load, a
Content-Security-Policy violation), reads the state of every ``<img>``, and takes a full-page screenshot.

If no Chromium is installed the check raises ``BrowserMissing`` (an AssertionError): the report tests fail with
the install command instead of skipping.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)
INSTALL_HINT = "apt-get install -y chromium poppler-utils (`make test` runs tests/provision.sh, which does this)"

# Runs in the page after load: what each image decoded to, whether the page is wider than the viewport, and what
# the page holds that a reader would not expect (scripts, external references).
PAGE_PROBE = """(() => {
  const images = Array.from(document.images).map(img => ({
    alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    scheme: (img.getAttribute('src') || '').split(':')[0]}));
  const external = Array.from(document.querySelectorAll('[src],[href]'))
    .map(node => node.getAttribute('src') || node.getAttribute('href'))
    .filter(url => url && !url.startsWith('data:') && !url.startsWith('#'));
  return JSON.stringify({
    images, external,
    scripts: document.querySelectorAll('script').length,
    scrollWidth: document.documentElement.scrollWidth,
    viewportWidth: window.innerWidth,
    scrollHeight: document.documentElement.scrollHeight,
    text: document.body ? document.body.innerText : '',
    boxes: Object.fromEntries(Array.from(document.querySelectorAll('[id]')).map(node => {
      const box = node.getBoundingClientRect();
      return [node.id, [box.top + window.scrollY, box.bottom + window.scrollY]];
    })),
    resources: performance.getEntriesByType('resource').map(entry => entry.name)});
})()"""


class BrowserMissing(AssertionError):
    """No Chromium on this machine."""


class BrowserError(RuntimeError):
    """The browser did not answer as the protocol says."""


def find_chromium() -> str:
    """The Chromium executable (``$CHROMIUM`` first), or raise BrowserMissing with the install command."""
    configured = os.environ.get("CHROMIUM")
    if configured and shutil.which(configured):
        return shutil.which(configured)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserMissing(f"headless Chromium is needed for the report checks and none was found: {INSTALL_HINT}")


@dataclasses.dataclass
class PageCheck:
    """What the browser saw: problems (console errors, exceptions, error log entries), images, layout, screenshot."""

    errors: list[str]
    images: list[dict]
    external: list[str]
    resources: list[str]
    scripts: int
    scroll_width: int
    viewport_width: int
    text: str
    screenshot: bytes  # PNG
    boxes: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)  # id -> (top, bottom), page px

    @property
    def broken_images(self) -> list[dict]:
        return [i for i in self.images if not i["complete"] or i["width"] == 0 or i["height"] == 0]


class _Pipe:
    """The browser's end of ``--remote-debugging-pipe``: numbered commands, replies matched by id, events kept."""

    def __init__(self, executable: str, profile: str) -> None:
        to_browser_read, self._write_fd = os.pipe()
        self._read_fd, from_browser_write = os.pipe()

        def wire_descriptors() -> None:
            # The protocol fixes the numbers: the browser reads fd 3 and writes fd 4. Move both ends above 10
            # first, since a pipe end may itself be fd 3 or 4; dup2 onto 3 and 4 leaves them inheritable.
            high_read = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
            high_write = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
            os.dup2(high_read, 3)
            os.dup2(high_write, 4)
            os.close(high_read)
            os.close(high_write)

        # close_fds=False: closing would take 3 and 4 too (it runs after preexec_fn). The parent's own pipe
        # ends are not inheritable, so they do not leak into the browser.
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=wire_descriptors,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("the browser did not answer in time")
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise BrowserError(f"the browser closed the pipe (exit code {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", timeout=5.0)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for descriptor in (self._write_fd, self._read_fd):
            with contextlib.suppress(OSError):
                os.close(descriptor)


def _problems(events: list[dict]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            found.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append(f"exception: {details.get('text', '')} {details.get('exception', {}).get('description', '')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
    return found


def check_page(path: str | Path, width: int = 1280, height: int = 900, timeout: float = 60.0) -> PageCheck:
    """Load ``path`` in headless Chromium at a ``width`` x ``height`` viewport and return what it saw, with a
    screenshot of the whole page (capped at 8000 px high)."""
    executable = find_chromium()
    url = Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="attnmod-chromium-") as profile:
        pipe = _Pipe(executable, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
                pipe.send(domain, session=session)
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700},
                session=session,
            )
            pipe.events.clear()
            pipe.send("Page.navigate", {"url": url}, session=session)
            pipe.wait_for("Page.loadEventFired", timeout=timeout)
            probe = pipe.send(
                "Runtime.evaluate", {"expression": PAGE_PROBE, "returnByValue": True}, session=session, timeout=timeout
            )
            state = json.loads(probe["result"]["value"])
            full_height = min(int(state["scrollHeight"]), 8000)
            shot = pipe.send(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": width, "height": max(full_height, 1), "scale": 1},
                },
                session=session,
                timeout=timeout,
            )
            errors = _problems(pipe.events)
        finally:
            pipe.close()
    return PageCheck(
        errors=errors,
        images=state["images"],
        external=state["external"],
        resources=state["resources"],
        scripts=int(state["scripts"]),
        scroll_width=int(state["scrollWidth"]),
        viewport_width=int(state["viewportWidth"]),
        text=state["text"],
        screenshot=base64.b64decode(shot["data"]),
        boxes={name: (float(top), float(bottom)) for name, (top, bottom) in state["boxes"].items()},
    )


def pixel_spread(png: bytes) -> float:
    """Standard deviation of the grey levels of an image (0 for a blank page)."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return float(np.asarray(image.convert("L"), dtype=np.float32).std())


def ink_fraction(png: bytes, threshold: int = 200) -> float:
    """Share of pixels darker than ``threshold`` (of 255): text, lines and figures; 0 for an empty page."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return float((np.asarray(image.convert("L")) < threshold).mean())


def pdf_pages(pdf: str | Path, out_dir: str | Path, dpi: int = 40) -> list[Path]:
    """Render every page of a PDF to PNG with poppler's ``pdftoppm``; the PNG paths in page order."""
    executable = shutil.which("pdftoppm")
    if not executable:
        raise BrowserMissing(f"pdftoppm (poppler-utils) is needed for the PDF checks and was not found: {INSTALL_HINT}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [executable, "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return sorted(out_dir.glob("page*.png"), key=lambda p: int(p.stem.split("-")[-1]))
