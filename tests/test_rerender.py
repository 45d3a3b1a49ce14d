"""A spooled job keeps what its client sent, and renders again from it: identically with the
same settings, through the new curve after a calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import sop_class

from printserver.config import parse_config
from printserver.spool.store import SpoolStore
from tests.ghostscript import render_gray16
from tests.print_client import PrintClient, box_uids
from tests.server_harness import config_text, run_cli, start_in_process, wait_for_jobs

pytestmark = pytest.mark.integration


def test_rerender_from_the_kept_objects(tmp_path: Path) -> None:
    output = tmp_path / "output"
    printer = f'[[printers]]\nae_title = "FILM"\ndirectory = "{output}"\n'
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, printer))
    running = start_in_process(parse_config(config.read_text(), base=tmp_path))
    try:
        client = PrintClient(running.port, called="FILM")
        lut = Dataset()
        lut.PresentationLUTShape = "INVERSE"
        _, lut_uid = client.lut(lut)
        reference = Dataset()
        reference.ReferencedSOPClassUID = sop_class.PresentationLUT
        reference.ReferencedSOPInstanceUID = lut_uid
        _, session = client.session(FilmSessionLabel="AGAIN")
        _, box, reply = client.film_box(
            session,
            "STANDARD\\2,1",
            FilmSizeID="8INX10IN",
            AnnotationDisplayFormatID="LABEL",
            ReferencedPresentationLUTSequence=[reference],
        )
        ramp = (np.arange(64 * 64).reshape(64, 64) % 4096).astype(np.uint16)
        for position, uid in enumerate(box_uids(reply), start=1):
            assert client.gray(uid, position, ramp // position).Status == 0
        (annotation,) = box_uids(reply, "ReferencedBasicAnnotationBoxSequence")
        assert client.annotate(annotation, 1, "KEPT WITH THE JOB").Status == 0
        assert client.action(sop_class.BasicFilmBox, box)[0].Status == 0
        client.release()
        (original,) = wait_for_jobs(running.spool, 1, {"done"})
        again = run_cli(config, "queue", "rerender", original.job_id)
        assert again.returncode == 0, again.stderr
        jobs = wait_for_jobs(running.spool, 2, {"done"})
    finally:
        running.server.stop()
    store = SpoolStore(tmp_path / "spool")
    second = next(job for job in jobs if job.job_id != original.job_id)
    assert second.history[0].note == f"re-rendered from {original.job_id}"
    first_page = render_gray16(store.document(original.job_id), 320)[0]
    second_page = render_gray16(store.document(second.job_id), 320)[0]
    assert np.array_equal(first_page, second_page)  # same objects, same settings: same film

    # after a calibration the same objects print through the new curve
    curve = "characteristic_curve = [[0, 3.0], [2048, 1.0], [4095, 0.2]]\n"
    config.write_text(config_text(tmp_path / "spool", 0, printer + curve))
    running = start_in_process(parse_config(config.read_text(), base=tmp_path))
    try:
        assert run_cli(config, "queue", "rerender", original.job_id).returncode == 0
        jobs = wait_for_jobs(running.spool, 3, {"done"})
    finally:
        running.server.stop()
    third = max(jobs, key=lambda job: job.created)
    third_page = render_gray16(store.document(third.job_id), 320)[0]
    assert third_page.shape == first_page.shape and not np.array_equal(third_page, first_page)
    assert third_page[5, 5] == first_page[5, 5] == 0  # the BLACK border stays


def test_rerender_without_objects_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "printserver.toml"
    config.write_text(config_text(tmp_path / "spool", 0, ""))
    store = SpoolStore(tmp_path / "spool")
    store.open()
    from printserver.spool.job import JobRequest

    record = store.create(JobRequest(printer="PRINTSERVER"), lambda out: out.write(b"%!PS\n"))
    refused = run_cli(config, "queue", "rerender", record.job_id)
    assert refused.returncode == 1 and "kept no objects" in refused.stderr
