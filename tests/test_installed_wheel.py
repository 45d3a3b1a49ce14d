"""The server as ``pip install .`` leaves it, not as the editable checkout runs it.

A wheel built from the repository is installed into a fresh venv and run from a directory
outside the checkout: its ``CUSTOM\\i`` layouts (PS3.3 C.13.3) must come from inside the
installed package, where nothing of the checkout can stand in for them.
"""

from __future__ import annotations

import os
import shutil
import site
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pynetdicom import sop_class

from tests.print_client import PrintClient, box_uids, output_files
from tests.server_harness import config_text, free_port, wait_for_port

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "printserver", "layouts")
"""What the build reads; copied so that building leaves no build/ or egg-info in the checkout."""


def test_every_package_is_shipped() -> None:
    """pyproject.toml lists the packages by hand (find cannot see a mapped one): keep it whole."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    on_disk = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "printserver").rglob("__init__.py")
    }
    missing = sorted(on_disk - set(setuptools["packages"]))
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert set(setuptools["packages"]) == on_disk | {"printserver.layouts"}
    assert setuptools["package-dir"] == {"printserver.layouts": "layouts"}


def _run(
    command: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env=env,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Installed:
    """A fresh venv holding the built wheel, and where it may run."""

    python: Path
    printserver: Path
    work: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel, install it alone into a new venv, lend it the project's dependencies.

    The build goes through pip's isolated build environment, exactly as ``pip install .`` does;
    pip takes setuptools from its configured index (a local one on an offline machine).  The
    venv gets the wheel with ``--no-deps --no-index`` and then a ``.pth`` line pointing at this
    venv's site-packages, so nothing is downloaded and the checkout is not importable: a .pth
    line adds a directory to sys.path without running that directory's own .pth files, so the
    editable install living there stays inert.
    """
    root = tmp_path_factory.mktemp("wheel")
    source, dist, fresh, work = (root / name for name in ("src", "dist", "fresh", "work"))
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source])
    (wheel,) = dist.glob("printserver-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {
        "printserver/layouts/1.toml",
        "printserver/layouts/2.toml",
        "printserver/layouts/3.toml",
        "printserver/web/templates/queue.html",
        "printserver/web/static/console.js",
    } <= set(names), names

    _run([sys.executable, "-m", "venv", "--without-pip", fresh])
    python = fresh / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            wheel,
        ]
    )
    purelib = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    )
    (purelib / "project-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    work.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env["PYTHONNOUSERSITE"] = "1"
    where = _run(
        [
            python,
            "-c",
            "import printserver.config as c; print(c.__file__); print(c.builtin_layouts())",
        ],
        cwd=work,
        env=env,
    ).split()
    assert all(Path(line).is_relative_to(fresh) for line in where), where
    return Installed(python, fresh / "bin" / "printserver", work, env)


@pytest.fixture
def installed_server(installed: Installed) -> Iterator[tuple[int, Path]]:
    """``printserver serve`` of the fresh venv on a free port, with one directory printer
    and the web console on another (``installed.env["WEB_PORT"]``)."""
    port, output = free_port(), installed.work / "output"
    installed.env["WEB_PORT"] = str(free_port())
    config = installed.work / "printserver.toml"
    config.write_text(
        config_text(
            installed.work / "spool",
            port,
            f'[[printers]]\nae_title = "PRINTSERVER"\ndirectory = "{output}"\n',
            f"[web]\nenabled = true\nport = {installed.env['WEB_PORT']}\n",
        )
    )
    log = installed.work / "server.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [str(installed.printserver), "serve", "--config", str(config)],
            cwd=installed.work,
            env=installed.env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the installed server did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield port, output
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.mark.integration
def test_the_installed_wheel_prints_a_custom_layout(installed_server: tuple[int, Path]) -> None:
    port, output = installed_server
    client = PrintClient(port)
    try:
        assert client.established
        status, session = client.session()
        assert status == 0
        status, film, reply = client.film_box(session, "CUSTOM\\1", FilmSizeID="8INX10IN")
        assert status == 0, "CUSTOM\\1 refused: the wheel's layouts were not found"
        boxes = box_uids(reply)
        assert len(boxes) == 3  # layouts/1.toml: one large image over two side by side
        for position, uid in enumerate(boxes, start=1):
            reply_status = client.gray(uid, position, np.full((16, 16), 1000 * position, np.uint16))
            assert reply_status.Status == 0
        action, _ = client.action(sop_class.BasicFilmBox, film)
        assert action.Status == 0
    finally:
        client.release()
    (page,) = output_files(output, 1)
    assert page.read_bytes().startswith(b"%!PS")


@pytest.mark.integration
def test_the_installed_wheel_serves_the_web_console(
    installed: Installed, installed_server: tuple[int, Path]
) -> None:
    """Its templates and script come from inside the installed package."""
    wait_for_port(int(installed.env["WEB_PORT"]))  # bound just after the DICOM port
    base = f"http://127.0.0.1:{installed.env['WEB_PORT']}"
    with urllib.request.urlopen(f"{base}/queue", timeout=10) as page:
        assert page.status == 200 and "<h1>Queue</h1>" in page.read().decode()
    with urllib.request.urlopen(f"{base}/static/console.js", timeout=10) as script:
        assert b"REFRESH_MS" in script.read()
