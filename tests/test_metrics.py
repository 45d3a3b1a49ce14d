"""Prometheus metrics of a real server: films printed over DICOM move the counters, the
gauges read the spool and the printers at scrape time, the standalone endpoint serves them,
and the example alert rules are valid and name only metrics the server exposes."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from printserver.metrics import CONTENT_TYPE_LATEST, render_metrics
from printserver.server import PrintServer, StartupError
from tests.print_client import PrintClient
from tests.server_harness import (
    REPO,
    InProcessServer,
    directory_config,
    start_in_process,
    wait_for_jobs,
)

ALERTS = REPO / "docs" / "alerts.yml"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition: (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(running: InProcessServer) -> str:
    return render_metrics(running.server.metrics).decode()


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[InProcessServer]:
    """A directory printer, with the standalone metrics endpoint on a free port."""
    config = directory_config(tmp_path, server_extra="[metrics]\nenabled = true\nport = 0\n")
    running = start_in_process(config)
    yield running
    running.server.stop()


def test_a_printed_film_moves_the_counters(metered: InProcessServer) -> None:
    before = scrape(metered)
    assert value(before, "printserver_films_received_total", printer="PRINTSERVER") == 0
    client = PrintClient(metered.port)
    assert client.flat_film(2000).Status == 0
    client.release()
    wait_for_jobs(metered.spool, 1, {"done"})
    text = scrape(metered)
    printer = {"printer": "PRINTSERVER"}
    assert value(text, "printserver_films_received_total", **printer) == 1
    assert value(text, "printserver_films_printed_total", **printer) == 1
    assert value(text, "printserver_render_duration_seconds_count", **printer) == 1
    assert value(text, "printserver_render_duration_seconds_sum", **printer) > 0
    assert value(text, "printserver_delivery_duration_seconds_count", **printer) == 1
    assert value(text, "printserver_associations_accepted_total", **printer) == 1
    assert value(text, "printserver_jobs", printer="PRINTSERVER", state="done") == 1
    assert value(text, "printserver_jobs", printer="PRINTSERVER", state="pending") == 0
    assert value(text, "printserver_printer_up", **printer) == 1
    assert value(text, "printserver_spool_free_bytes") > 0
    assert value(text, "printserver_associations_open") == 0


def test_refused_associations_are_counted_by_reason(metered: InProcessServer) -> None:
    client = PrintClient(metered.port, called="NOSUCHPRINTER")
    assert not client.established
    text = scrape(metered)
    assert value(text, "printserver_associations_refused_total", reason="called_ae") == 1
    assert value(text, "printserver_associations_accepted_total", printer="PRINTSERVER") == 0


def test_an_open_association_is_seen_at_scrape_time(metered: InProcessServer) -> None:
    client = PrintClient(metered.port)
    try:
        assert value(scrape(metered), "printserver_associations_open") == 1
    finally:
        client.release()


def test_a_film_held_for_media_shows_in_the_gauges(tmp_path: Path) -> None:
    config = directory_config(tmp_path, printer_extra='loaded_film_sizes = ["8INX10IN"]')
    running = start_in_process(config)
    try:
        client = PrintClient(running.port)
        assert client.flat_film(1000, size="14INX17IN").Status == 0
        client.release()
        wait_for_jobs(running.spool, 1, {"held"})
        text = scrape(running)
    finally:
        running.server.stop()
    assert value(text, "printserver_jobs_held_for_media", printer="PRINTSERVER") == 1
    assert value(text, "printserver_jobs", printer="PRINTSERVER", state="held") == 1
    assert value(text, "printserver_oldest_job_seconds", printer="PRINTSERVER", state="held") > 0


def test_the_standalone_endpoint_serves_the_same_registry(metered: InProcessServer) -> None:
    address = metered.server.metrics_address
    assert address is not None and address[0] == "127.0.0.1"
    with urllib.request.urlopen(f"http://127.0.0.1:{address[1]}/metrics", timeout=10) as reply:
        body = reply.read().decode()
        kind = reply.headers["Content-Type"]
    assert kind.split(";")[0] == CONTENT_TYPE_LATEST.split(";")[0]
    assert value(body, "printserver_printer_up", printer="PRINTSERVER") == 1
    metered.server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{address[1]}/metrics", timeout=2)


def test_servers_in_one_process_count_apart(tmp_path: Path, metered: InProcessServer) -> None:
    other = start_in_process(directory_config(tmp_path / "other"))
    try:
        client = PrintClient(other.port)
        assert client.flat_film(500).Status == 0
        client.release()
        wait_for_jobs(other.spool, 1, {"done"})
        assert value(scrape(other), "printserver_films_printed_total", printer="PRINTSERVER") == 1
        assert value(scrape(metered), "printserver_films_printed_total", printer="PRINTSERVER") == 0
    finally:
        other.server.stop()


def test_metrics_are_off_unless_enabled(server: InProcessServer) -> None:
    assert server.server.metrics_address is None
    assert b"printserver_jobs" in render_metrics(server.server.metrics)  # for the web console


DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
"""A Prometheus duration (``for:``), as the rule file format defines it."""


def test_alert_rules_are_valid_prometheus_rules() -> None:
    """The rule file's schema as Prometheus reads it (and ``promtool check rules`` too,
    where Debian's prometheus package is installed: the test suite does not install it,
    as it would start a Prometheus server on the machine)."""
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    names: set[str] = set()
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert isinstance(rule["alert"], str) and rule["alert"] not in names
            names.add(rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].count("(") == rule["expr"].count(
                ")"
            )
            assert DURATION.match(str(rule.get("for", "0s"))), rule
            assert rule["labels"]["severity"] in ("critical", "warning", "info")
            assert rule["annotations"]["summary"]
    promtool = shutil.which("promtool")
    if promtool is not None:
        result = subprocess.run(
            [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr


def exposed_names(text: str) -> set[str]:
    """Every series name an exposition declares, with or without samples yet."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes.get(family.type, ("",))
    }


def test_alert_rules_name_only_exposed_metrics(server: InProcessServer) -> None:
    exposed = exposed_names(scrape(server))
    assert "printserver_films_failed_total" in exposed  # declared before any film failed
    expressions = re.findall(r"^\s*expr:\s*(.+)$", ALERTS.read_text(), re.MULTILINE)
    assert len(expressions) >= 4
    named = {name for expr in expressions for name in re.findall(r"\bprintserver_\w+", expr)}
    assert named and named <= exposed, named - exposed
    for wanted in ("printer_up", "oldest_job_seconds", "jobs_held_for_media", "spool_free_bytes"):
        assert f"printserver_{wanted}" in named


def test_a_metrics_port_taken_stops_the_start_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        extra = f"[metrics]\nenabled = true\nport = {port}\n"
        server = PrintServer(directory_config(tmp_path, server_extra=extra))
        try:
            with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1 port {port}"):
                server.start()
        finally:
            server.stop()
