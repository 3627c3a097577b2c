"""``mmtrain app`` in a real headless Chromium: open a video, draw a region, read the spectrum, click the
peak, preview, export; and the refusals (a file outside the folder, a bad video) as a user meets them."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from mmtrain.magnify.demo import SinusoidVideo, demo_image
from mmtrain.video.io import VideoReader, write_video

pytest.importorskip("flask", reason="the app needs Flask: pip install 'motionmag[app]'")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FPS, FREQ, AMPLITUDE, N = 30.0, 3.0, 0.5, 60  # the known motion: 0.5 px sinusoid at 3 Hz in x
W, H = 96, 72


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    video = SinusoidVideo(demo_image("astronaut"), size=(W, H), amplitude=AMPLITUDE, freq=FREQ, fps=FPS)
    write_video(root / "moving.mkv", video.frames(N), FPS, codec="ffv1")
    (root / "broken.mp4").write_bytes(b"this is not a video" * 100)
    (root.parent / "secret.mkv").write_bytes((root / "moving.mkv").read_bytes())  # outside the folder
    return root


@pytest.fixture(scope="module")
def server(folder) -> Iterator[str]:
    from werkzeug.serving import make_server

    from mmtrain.app.server import create_app

    srv = make_server("127.0.0.1", 0, create_app(folder), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.port}/"
    srv.shutdown()
    thread.join(10)


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize("name", ["../secret.mkv", "/etc/passwd", "sub/../../secret.mkv"])
def test_a_file_outside_the_folder_is_refused(server, name) -> None:
    status, body = _post(server + "api/spectrum", {"video": name, "roi": [0, 0, 8, 8]})
    assert status == 403 and "outside the chosen folder" in body["error"]
    status, body = _post(server + "api/export", {"video": "moving.mkv", "roi": [0, 0, 8, 8], "output": name,
                                                 "mode": "static", "method": "linear", "alpha": 2})
    assert status == 403 and "outside the chosen folder" in body["error"]


def test_a_bad_video_is_a_message_not_a_stack_trace(server) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server + "api/info?video=broken.mp4", timeout=60)
    body = json.loads(err.value.read())
    assert err.value.code == 400 and "broken.mp4" in body["error"] and "Traceback" not in body["error"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium / chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,2400"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float = 300):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def test_the_workflow_in_a_real_browser(server, browser, folder) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(server)
    _wait(d, lambda d: len(d.find_elements("css selector", "#video option")) >= 2)
    Select(d.find_element("id", "video")).select_by_value("broken.mp4")
    d.find_element("id", "open").click()
    _wait(d, lambda d: d.find_element("id", "message").text != "")
    text = d.find_element("id", "message").text
    assert "broken.mp4" in text and "Traceback" not in text

    Select(d.find_element("id", "video")).select_by_value("moving.mkv")
    d.find_element("id", "open").click()
    _wait(d, lambda d: "frames at" in d.find_element("id", "info").text)
    assert d.find_element("id", "message").text == ""
    canvas = d.find_element("id", "frame")
    assert d.execute_script("const c = arguments[0]; return [c.clientWidth, c.clientHeight];", canvas) == [W, H]
    # drag a region from (20, 16) to (76, 56) of the frame
    ActionChains(d).move_to_element_with_offset(canvas, 20 - W // 2, 16 - H // 2).click_and_hold() \
        .move_by_offset(56, 40).release().perform()
    roi = [int(d.find_element("id", f"roi-{k}").get_attribute("value")) for k in "xywh"]
    assert np.abs(np.subtract(roi, [20, 16, 56, 40])).max() <= 1, roi  # the element's centre: rounded by a pixel
    x, y, w, h = roi

    d.find_element("id", "analyse").click()
    _wait(d, lambda d: d.find_elements("id", "peak-1") or d.find_element("id", "message").text)
    assert d.find_element("id", "message").text == ""
    first = d.find_element("id", "peak-1")
    freq = float(first.text.split(" Hz")[0])
    assert abs(freq - FREQ) <= FPS / N  # within a bin of the true 3 Hz
    assert "(x)" in first.text
    first.click()
    low, high = (float(d.find_element("id", k).get_attribute("value")) for k in ("band-low", "band-high"))
    assert low < FREQ < high

    Select(d.find_element("id", "method")).select_by_value("linear")
    d.find_element("id", "alpha").clear()
    d.find_element("id", "alpha").send_keys("5")
    d.find_element("id", "frames").send_keys("30")
    d.find_element("id", "preview").click()
    _wait(d, lambda d: len(d.find_elements("css selector", "#previews img")) >= 4 or d.find_element("id", "message").text)
    assert d.find_element("id", "message").text == ""
    assert d.find_elements("css selector", "#previews img.input") and d.find_elements("css selector", "#previews img.magnified")

    d.find_element("id", "output").clear()
    d.find_element("id", "output").send_keys("magnified.mkv")
    d.find_element("id", "export").click()
    _wait(d, lambda d: d.find_element("id", "export-result").text or d.find_element("id", "message").text)
    assert d.find_element("id", "message").text == ""
    assert "magnified.mkv: 30 frames (ffv1)" in d.find_element("id", "export-result").text
    out = np.stack(list(VideoReader(folder / "magnified.mkv")))
    source = np.stack(list(VideoReader(folder / "moving.mkv")))[:30]
    far = np.ones((H, W), bool)
    far[max(y - 16, 0):y + h + 16, max(x - 16, 0):x + w + 16] = False  # the region and its default 16 px feather
    assert np.array_equal(out[:, far], source[:, far])
    assert not np.array_equal(out[:, y:y + h, x:x + w], source[:, y:y + h, x:x + w])

    # a path outside the folder typed into the export box
    d.find_element("id", "output").clear()
    d.find_element("id", "output").send_keys("../escaped.mkv")
    d.find_element("id", "export").click()
    _wait(d, lambda d: d.find_element("id", "message").text)
    assert "outside the chosen folder" in d.find_element("id", "message").text
    assert not (folder.parent / "escaped.mkv").exists()


def test_the_command_serves_the_folder_on_loopback(folder) -> None:
    """``mmtrain app FOLDER --port 0`` as a user starts it: it prints its loopback address and serves the page."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "mmtrain.cli", "app", str(folder), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("mmtrain app: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split()[2]
        with urllib.request.urlopen(url + "api/videos", timeout=60) as response:
            assert {"broken.mp4", "moving.mkv"} <= set(json.loads(response.read())["videos"])
        with urllib.request.urlopen(url, timeout=60) as response:
            assert b"Find the motion in your video" in response.read()
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_command_refuses_a_missing_folder(tmp_path, capsys) -> None:
    from mmtrain.cli import main

    assert main(["app", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a folder" in err[0]
