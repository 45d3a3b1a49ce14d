"""No traceback, ever: every failure of the ``printserver`` command is one line on standard
error starting ``printserver: `` and a documented exit status (docs/operations.md, "Exit
status")."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from printserver.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_PIPE, EXIT_USAGE, config_source
from printserver.config import ConfigError, parse_config
from printserver.sinks.directory import DirectorySink
from printserver.spool.job import JobRecord, JobRequest
from printserver.spool.store import SpoolStore
from printserver.spool.worker import SpoolWorker
from tests.server_harness import REPO, config_text, free_port, run_cli
from tests.test_tls import _self_signed


def _printserver(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``printserver ARGS`` in ``cwd`` with no configuration but what ``env`` gives."""
    environment = {k: v for k, v in os.environ.items() if k != "PRINTSERVER_CONFIG"}
    environment.update(env or {}, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "printserver", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=environment,
    )


def _one_line(result: subprocess.CompletedProcess[str], code: int, *parts: str) -> str:
    """The run failed with ``code`` and exactly one ``printserver:`` line holding ``parts``."""
    lines = result.stderr.splitlines()
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("printserver: "), result.stderr
    assert all(part in lines[0] for part in parts), result.stderr
    return lines[0]


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, SpoolStore, JobRecord]:
    """A configuration with the directory printer PAPER, its spool and one pending job whose
    document is a real film (the step wedge, written by the command)."""
    printers = f'[[printers]]\nae_title = "PAPER"\ndirectory = "{tmp_path / "paper"}"\n'
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, printers))
    wedge = tmp_path / "wedge.ps"
    assert run_cli(config, "calibrate", "wedge", "--steps", "4", "-o", str(wedge)).returncode == 0
    store = SpoolStore(tmp_path / "spool")
    store.open()
    job = store.create(JobRequest(printer="PAPER"), lambda out: out.write(wedge.read_bytes()))
    return config, store, job


# 1. serve: the port, then the spool ------------------------------------------------------


def test_serve_on_a_port_in_use_touches_no_spool(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "printserver.toml"
        config.write_text(config_text(tmp_path / "spool", port, ""))
        result = run_cli(config, "serve")
    _one_line(result, EXIT_FAILED, f"cannot listen on 127.0.0.1 port {port}", "in use")
    assert not (tmp_path / "spool").exists()


def test_a_second_server_on_a_spool_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", free_port(), ""))
    holder = SpoolStore(tmp_path / "spool")
    holder.lock_server()
    try:
        (tmp_path / "spool" / "tmp" / "being-written").mkdir(parents=True)
        result = run_cli(config, "serve")
    finally:
        holder.unlock_server()
    _one_line(result, EXIT_FAILED, "is in use by another server", f"(PID {os.getpid()})")
    assert (tmp_path / "spool" / "tmp" / "being-written").is_dir()  # not cleaned up


# 2, 3. config check catches what serve would stop on ----------------------------------------


def _check_and_serve(config: Path, *parts: str) -> None:
    for command in (["config", "check", str(config)], ["serve", "--config", str(config)]):
        result = _printserver(*command, cwd=config.parent)
        _one_line(result, EXIT_CONFIG, "configuration error", *parts)


def test_tls_certificate_missing_or_not_matching(tmp_path: Path) -> None:
    tls = '[server.tls]\nport = 0\ncertificate = "cert.pem"\nprivate_key = "key.pem"\n'
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, "", tls))
    _check_and_serve(config, "server.tls", "cert.pem", "no such file")
    cert, _ = _self_signed(tmp_path, "server")
    _, other_key = _self_signed(tmp_path, "other")
    shutil.copy(cert, tmp_path / "cert.pem")
    shutil.copy(other_key, tmp_path / "key.pem")
    _check_and_serve(config, "server.tls", "do not load as a matching pair")


def test_spool_directory_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "spool").write_text("not a directory")
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, ""))
    _check_and_serve(config, "spool.directory", "is not a directory")
    listing = run_cli(config, "queue", "list")
    _one_line(listing, EXIT_CONFIG, "spool.directory")


def test_a_printer_icc_profile_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "printer.icc").write_bytes(b"not an ICC profile at all")
    printers = (
        f'[[printers]]\nae_title = "COLOR"\ndirectory = "{tmp_path / "out"}"\n'
        'icc_profile = "printer.icc"\n'
    )
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, printers))
    _check_and_serve(config, "COLOR", "printer.icc")


def test_config_errors_in_plain_words_all_at_once(tmp_path: Path) -> None:
    config = tmp_path / "printserver.toml"
    config.write_text(
        '[server]\nport = 70000\nallowed_calling_aes = "CT1"\n'
        '[[printers]]\nae_title = "FILM"\ncups_queue = "film"\nbits = 9\n'
    )
    line = _one_line(_printserver("config", "check", str(config), cwd=tmp_path), EXIT_CONFIG)
    assert "server.port: must be at most 65535 (not 70000)" in line
    assert 'server.allowed_calling_aes: must be a list in brackets, e.g. ["A", "B"]' in line
    assert "printers.0.bits: must be 8 or 12 (not 9)" in line
    assert "Input should be" not in line and "tuple" not in line


def test_ae_titles_compare_as_dicom_does() -> None:
    config = parse_config(
        '[server]\nae_title = " PS "\nallowed_calling_aes = ["CT1  "]\n'
        '[[printers]]\nae_title = "  FILM "\ncups_queue = "film"\n'
    )
    assert config.server.ae_title == "PS" and config.server.allowed_calling_aes == ("CT1",)
    assert config.printer_for(" FILM") is config.printers[0]
    assert config.printer_for("film") is None  # case counts
    with pytest.raises(ConfigError, match=r"printers\.0\.ae_title: an AE title needs"):
        parse_config('[[printers]]\nae_title = "   "\ncups_queue = "film"\n')


# 4. preview --------------------------------------------------------------------------------


def test_preview_outputs(site: tuple[Path, SpoolStore, JobRecord], tmp_path: Path) -> None:
    config, _, job = site
    preview = ["queue", "preview", job.job_id, "-o"]
    missing = run_cli(config, *preview, str(tmp_path / "no" / "film.png"))
    _one_line(missing, EXIT_FAILED, "cannot write", "does not exist")
    folder = run_cli(config, *preview, str(tmp_path))
    _one_line(folder, EXIT_FAILED, "is a directory")
    unknown = run_cli(config, *preview, str(tmp_path / "film.gif"))
    _one_line(unknown, EXIT_USAGE, ".gif is not a picture type", ".png", ".jpg", ".pdf")
    assert not (tmp_path / "film.gif").exists()
    for name, magic in (("film.jpg", b"\xff\xd8\xff"), ("film.png", b"\x89PNG")):
        written = run_cli(config, *preview, str(tmp_path / name))
        assert written.returncode == 0 and written.stderr == "", written.stderr
        assert (tmp_path / name).read_bytes().startswith(magic)


# 5, 12. files the operator names, and the exit statuses ----------------------------------


def test_output_files_that_cannot_be_written(
    site: tuple[Path, SpoolStore, JobRecord], tmp_path: Path
) -> None:
    config, _, _ = site
    conformance = _printserver("conformance", "-o", "/nonexistent/c.md", cwd=tmp_path)
    _one_line(conformance, EXIT_FAILED, "cannot write /nonexistent/c.md")
    wedge = run_cli(config, "calibrate", "wedge", "-o", "/nonexistent/w.ps")
    _one_line(wedge, EXIT_FAILED, "cannot write /nonexistent/w.ps")
    readings = run_cli(config, "calibrate", "curve", "--csv", str(tmp_path / "none.csv"))
    _one_line(readings, EXIT_FAILED, "cannot read", "none.csv")


def test_unknown_printers_are_bad_usage(site: tuple[Path, SpoolStore, JobRecord]) -> None:
    config, _, job = site
    for args in (
        ["queue", "move", job.job_id, "NOPE"],
        ["queue", "list", "--printer", "NOPE"],
        ["calibrate", "wedge", "--printer", "NOPE"],
    ):
        _one_line(run_cli(config, *args), EXIT_USAGE, "unknown printer 'NOPE' (printers: PAPER)")
    listing = run_cli(config, "queue", "list", "--printer", " PAPER ")  # spaces do not count
    assert listing.returncode == 0 and job.job_id in listing.stdout


# 6. a closed pipe --------------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(site: tuple[Path, SpoolStore, JobRecord]) -> None:
    config, _, job = site
    for args in (["queue", "show", job.job_id, "--config", str(config)], ["conformance"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "printserver", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # `| head -0`: the reader is gone before the first line
        errors = process.stderr.read()
        assert process.wait(60) == EXIT_PIPE and errors == b"", errors


# 7. calibration rounding -------------------------------------------------------------------


def test_curve_densities_round_to_the_hundredths_meant(tmp_path: Path) -> None:
    falling = [round(2.01 - step * 0.09, 2) for step in range(20)] + [0.14]
    result = _printserver("calibrate", "curve", *map(str, falling), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "min_density = 14\n" in result.stdout and "max_density = 201\n" in result.stdout


# 8. the same configuration and spool from anywhere -----------------------------------------


def test_commands_elsewhere_find_the_services_spool_and_create_nothing(
    site: tuple[Path, SpoolStore, JobRecord], tmp_path: Path
) -> None:
    config, _, job = site
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (["printers"], ["config", "check"]):
        assert _printserver(*args, cwd=elsewhere).returncode == 0
    listing = _printserver("queue", "list", cwd=elsewhere)
    _one_line(listing, EXIT_FAILED, f"no spool at {elsewhere / 'spool'}", "PRINTSERVER_CONFIG")
    assert list(elsewhere.iterdir()) == []  # no ./spool, no ./spool/output
    found = _printserver("queue", "list", cwd=elsewhere, env={"PRINTSERVER_CONFIG": str(config)})
    assert found.returncode == 0 and job.job_id in found.stdout
    assert not (tmp_path / "paper").exists()  # printers did not make the printer's directory


def test_config_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = tmp_path / "etc.toml"
    monkeypatch.delenv("PRINTSERVER_CONFIG", raising=False)
    assert config_source(None, system).path is None
    system.write_text("")
    assert config_source(None, system).path == system
    monkeypatch.setenv("PRINTSERVER_CONFIG", "env.toml")
    assert config_source(None, system).path == Path("env.toml")
    assert config_source("opt.toml", system).path == Path("opt.toml")


# 9. directory printers name their file -----------------------------------------------------


def test_directory_printer_names_the_file_it_wrote(
    site: tuple[Path, SpoolStore, JobRecord], caplog: pytest.LogCaptureFixture
) -> None:
    config, store, job = site
    target = config.parent / "paper" / f"{job.sink_title}.ps"
    shown = run_cli(config, "queue", "show", job.job_id)
    assert f"output              {target} (not written yet)" in shown.stdout
    worker = SpoolWorker(store, {"PAPER": DirectorySink("PAPER", config.parent / "paper")})
    with caplog.at_level(logging.INFO):
        worker.run_once()
    assert store.get(job.job_id).state == "done" and target.is_file()
    assert f"written to {target}" in caplog.text and "as None" not in caplog.text
    shown = run_cli(config, "queue", "show", job.job_id)
    assert f"output              {target}\n" in shown.stdout


# 11. library log lines are the command's own -----------------------------------------------


def test_log_lines_of_a_command_are_prefixed(site: tuple[Path, SpoolStore, JobRecord]) -> None:
    config, store, _ = site
    broken = store.jobs_dir / "20260101-000000-abcdef"
    broken.mkdir()
    (broken / "job.json").write_text("{")
    listing = run_cli(config, "queue", "list")
    _one_line(listing, 0, "cannot read job 20260101-000000-abcdef")


# reprint --force, purge --dry-run, --help --------------------------------------------------


def test_reprint_of_a_job_that_may_still_print_needs_force(
    site: tuple[Path, SpoolStore, JobRecord],
) -> None:
    config, store, job = site
    refused = run_cli(config, "queue", "reprint", job.job_id)
    _one_line(refused, EXIT_FAILED, "is pending and may still print", "--force")
    assert len(store.list()) == 1
    forced = run_cli(config, "queue", "reprint", "--force", job.job_id)
    assert forced.returncode == 0 and len(store.list()) == 2


def test_purge_dry_run_removes_nothing(site: tuple[Path, SpoolStore, JobRecord]) -> None:
    config, store, job = site
    assert run_cli(config, "queue", "cancel", job.job_id).returncode == 0
    dry = run_cli(config, "queue", "purge", "--older-than", "0s", "--dry-run")
    assert dry.returncode == 0 and f"1 job(s) would be purged: {job.job_id}" in dry.stdout
    assert [record.job_id for record in store.list()] == [job.job_id]


def test_help_has_no_markup_and_every_option_says_what_it_does(tmp_path: Path) -> None:
    import argparse

    from printserver.cli import _parser

    def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        found = [parser]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found += parsers(child)
        return found

    for parser in parsers(_parser()):
        text = parser.format_help()
        assert "``" not in text and ":class:" not in text, parser.prog
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, (parser.prog, action.option_strings or action.dest)
    top = _printserver("--help", cwd=tmp_path)
    assert top.returncode == 0 and "``" not in top.stdout
