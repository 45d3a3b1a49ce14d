"""The operator web console in a real browser: Debian's chromium, headless, driven by
Selenium through chromium-driver (nothing is downloaded: both paths are given).

A film printed over DICOM appears on the open queue page by itself with a thumbnail that
shows the film (compared region by region with Ghostscript's rendering of the job's
PostScript); it is held and released from the page, and reaches the private CUPS queue's
device only after the release.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from pynetdicom import sop_class
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from printserver.config import parse_config
from tests.ghostscript import render_gray8
from tests.print_client import PrintClient, box_uids
from tests.server_harness import REPO, InProcessServer, config_text, start_in_process

pytestmark = pytest.mark.integration

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = REPO / "tests" / "artifacts"
LABEL = "DOE^JANE <CT> & CHEST"
GRID = (4, 5)
"""Columns and rows of the regions whose mean grey is compared."""


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium and chromium-driver are missing (bash setup.sh test installs them)")
    options = webdriver.ChromeOptions()
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        "--force-device-scale-factor=1",
        "--force-color-profile=srgb",
    ):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def console(cups_queue: Any, tmp_path: Path) -> Iterator[InProcessServer]:
    """The server with a CUPS printer FILM and the web console on 127.0.0.1:free port."""
    printers = '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\n'
    extra = (
        f'scan_interval = 0.3\n[cups]\nserver = "{cups_queue.server}"\n'
        "[web]\nenabled = true\nport = 0\n"
    )
    running = start_in_process(parse_config(config_text(tmp_path / "spool", 0, printers, extra)))
    yield running
    running.server.stop()


def _print_film(port: int) -> None:
    """One 8x10 film: the image's left half dark, its right half bright."""
    client = PrintClient(port, called="FILM")
    _, session = client.session(FilmSessionLabel=LABEL)
    _, box, reply = client.film_box(session, FilmSizeID="8INX10IN")
    pixels = np.full((64, 64), 300, np.uint16)
    pixels[:, 32:] = 3800
    client.gray(box_uids(reply)[0], 1, pixels)
    status, _ = client.action(sop_class.BasicFilmBox, box)
    client.release()
    assert status.Status == 0


def _wait(driver: WebDriver, until: Callable[[WebDriver], Any], timeout: float = 30) -> Any:
    """Wait for ``until``; rows replaced by the page's refresh are looked up again."""
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
    ).until(until)


def _click(driver: WebDriver, css: str) -> None:
    def clicked(d: WebDriver) -> bool:
        d.find_element(By.CSS_SELECTOR, css).click()
        return True

    _wait(driver, clicked)


def _state(driver: WebDriver, job_id: str) -> str:
    text: str = driver.find_element(By.CSS_SELECTOR, f"#job-{job_id} td.state").text
    return text


def _regions(gray: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Mean grey of each cell of a GRID over the picture."""
    columns, rows = GRID
    height, width = gray.shape
    return np.array(
        [
            [
                gray[
                    r * height // rows : (r + 1) * height // rows,
                    c * width // columns : (c + 1) * width // columns,
                ].mean()
                for c in range(columns)
            ]
            for r in range(rows)
        ]
    )


def _assert_shows_the_film(shown_png: bytes, document: Path) -> None:
    """The picture on the page matches Ghostscript's rendering of the job's PostScript."""
    shown = Image.open(io.BytesIO(shown_png)).convert("L")
    (page,) = render_gray8(document, 40)
    expected = Image.fromarray(page).resize(shown.size, Image.Resampling.BOX)
    got, want = (_regions(np.asarray(p, np.float64)) for p in (shown, expected))
    assert want.std() > 40, "the film has no structure to compare"
    assert np.abs(got - want).max() < 16, f"thumbnail {got.round()} vs film {want.round()}"


def _screenshot(driver: WebDriver, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    driver.save_screenshot(str(target))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy2(target, ARTIFACTS / name)
    return target


def test_queue_page_shows_a_film_by_itself_and_holds_and_releases_it(
    console: InProcessServer, cups_queue: Any, browser: WebDriver, tmp_path: Path
) -> None:
    assert console.server.web is not None
    url = console.server.web.url
    cups_queue.cups.reject("film")  # the film waits in the spool until it is held
    browser.get(f"{url}/queue")
    assert "no jobs" in browser.find_element(By.ID, "jobs").text
    browser.execute_script("window.samePage = true;")

    _print_film(console.port)
    row = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#jobs tr[id^=job-]"))
    job_id = str(row.get_attribute("id")).removeprefix("job-")
    thumb = f"#job-{job_id} img.thumb"
    loaded = (
        f"const i = document.querySelector('{thumb}'); return i && i.complete && i.naturalWidth"
    )
    natural = _wait(browser, lambda d: d.execute_script(loaded))
    assert browser.execute_script("return window.samePage === true"), "the page was reloaded"
    assert (
        max(
            natural,
            browser.execute_script(f"return document.querySelector('{thumb}').naturalHeight"),
        )
        == 256
    )
    row_text = browser.find_element(By.ID, f"job-{job_id}").text
    assert LABEL in row_text and "TESTSCU" in row_text and "1 × 1" in row_text
    document = console.spool / "jobs" / job_id / "film.ps"
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, thumb).screenshot_as_png)
    _assert_shows_the_film(browser.find_element(By.CSS_SELECTOR, thumb).screenshot_as_png, document)
    _screenshot(browser, tmp_path, "console-queue.png")

    _click(browser, f"#job-{job_id} button.hold")
    _wait(browser, lambda d: _state(d, job_id) == "held")
    assert f"{job_id}: held (held)" in browser.find_element(By.ID, "notice").text
    cups_queue.cups.accept("film")
    time.sleep(2.0)
    assert cups_queue.sink.files() == []  # held: nothing reaches the printer

    _click(browser, f"#job-{job_id} button.release")
    _wait(browser, lambda d: "released" in d.find_element(By.ID, "notice").text)
    browser.execute_script("window.samePage = true;")  # from here the page follows by itself
    (delivered,) = cups_queue.sink.wait_for(1, timeout=40)
    assert b"%%Title: (DOE^JANE <CT> & CHEST)" in delivered.read_bytes()[:4096]
    _wait(browser, lambda d: _state(d, job_id) == "done", timeout=40)
    assert browser.execute_script("return window.samePage === true"), "the page was reloaded"

    browser.get(f"{url}/jobs/{job_id}")
    assert browser.find_element(By.ID, "delivered").text.startswith("CUPS job ")
    history = browser.find_element(By.CSS_SELECTOR, "table.history").text
    assert "held by operator" in history and "released by operator" in history
    browser.find_element(By.CSS_SELECTOR, "a.page").click()
    large = "const i = document.querySelector('#preview img'); return i.complete && i.naturalHeight"
    assert _wait(browser, lambda d: d.execute_script(large)) == 1024
    assert browser.find_element(By.ID, "preview").is_displayed()
    _screenshot(browser, tmp_path, "console-job.png")
