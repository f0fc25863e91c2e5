"""Open a report in headless Chromium as a person would, and measure what it shows.

``open_report`` loads a copy of the page with a checker script at the top of its head: once the page (and
its viewer, if any) has loaded, the script counts the distinct colours of every picture and of the viewer's
WebGL canvas and writes them into the DOM, which Chromium dumps. A second run takes a screenshot. Errors
(uncaught, rejected, ``console.error``) come back with the measurements.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

_FLAGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
          "--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000", "--window-size=1400,3000"]

_CHECKER = """<script>
const subsegErrors = [];
window.addEventListener("error", function (event) { subsegErrors.push(String(event.message)); });
window.addEventListener("unhandledrejection", function (event) { subsegErrors.push(String(event.reason)); });
const subsegConsoleError = console.error;
console.error = function () {
  subsegErrors.push(Array.from(arguments).join(" "));
  subsegConsoleError.apply(console, arguments);
};
function subsegDistinct(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d");
  context.drawImage(source, 0, 0, width, height);
  const pixels = context.getImageData(0, 0, width, height).data;
  const colours = new Set();
  for (let i = 0; i < pixels.length; i += 4) colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
  return colours.size;
}
function subsegLoaded(image) {
  return new Promise(function (resolve) { if (image.complete) resolve(); else image.onload = resolve; });
}
window.addEventListener("load", async function () {
  const result = {images: [], viewer: null, errors: subsegErrors};
  for (const image of Array.from(document.images)) {
    await subsegLoaded(image);
    const width = image.naturalWidth, height = image.naturalHeight;
    result.images.push({alt: image.alt, width: width, height: height,
                        distinct: width ? subsegDistinct(image, width, height) : 0});
  }
  if (document.getElementById("viewer-canvas")) {
    for (let i = 0; i < 200 && document.body.dataset.viewer !== "loaded"; i++) {
      await new Promise(function (resolve) { setTimeout(resolve, 50); });
    }
    result.viewer = {loaded: document.body.dataset.viewer === "loaded", distinct: 0};
    if (result.viewer.loaded) {
      const nv = window.subsegViewer;
      nv.drawScene();
      result.viewer.distinct = subsegDistinct(nv.canvas, nv.canvas.width, nv.canvas.height);
      result.viewer.status = document.getElementById("viewer-status").textContent;
    }
  }
  const out = document.createElement("pre");
  out.id = "subseg-browser-check";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


@dataclass
class PageReport:
    """What Chromium showed: per-picture and viewer colour counts, console errors, a screenshot."""

    images: list[dict]
    viewer: dict | None
    console_errors: list[str]
    screenshot: Path


def chromium() -> str:
    """The Chromium executable; fails the test loudly when it is missing (CI installs it)."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("Chromium not found: install it (scripts/ci_chromium.sh)", pytrace=False)


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=180)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":ERROR:CONSOLE" in line or "Uncaught" in line]


def open_report(report: Path, folder: Path) -> PageReport:
    """Open ``report`` (a local file) twice in headless Chromium: measurements, then a screenshot."""
    folder.mkdir(parents=True, exist_ok=True)
    page = report.read_text()
    checked = folder / f"checked-{report.name}"
    head = page.index("<head>") + len("<head>")  # the page's own head, before any inlined library
    checked.write_text(page[:head] + _CHECKER + page[head:])
    dumped = _run(["--dump-dom", checked.resolve().as_uri()], folder / "profile-dump")
    found = re.search(r'<pre id="subseg-browser-check">(.*?)</pre>', dumped.stdout, re.S)
    if not found:
        raise AssertionError(f"the checker did not finish in Chromium:\n{dumped.stderr[-3000:]}")
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                        .replace("&gt;", ">"))
    screenshot = folder / f"{report.stem}.png"
    shot = _run([f"--screenshot={screenshot}", report.resolve().as_uri()], folder / "profile-shot")
    if not screenshot.is_file():
        raise AssertionError(f"Chromium wrote no screenshot:\n{shot.stderr[-3000:]}")
    return PageReport(result["images"], result["viewer"],
                      result["errors"] + _console_errors(dumped.stderr) + _console_errors(shot.stderr), screenshot)
