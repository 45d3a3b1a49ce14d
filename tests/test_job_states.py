"""The job state table: every change it allows works, every other one is refused, and
what operators, job.json and DICOM clients see of it stays as it was."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from printserver.net.print_job import execution_status
from printserver.spool import operations
from printserver.spool.job import (
    DEFAULT_INFO,
    TRANSITIONS,
    IllegalTransition,
    JobInfo,
    JobRecord,
    JobState,
)

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LEGAL = sorted((source, target) for source, targets in TRANSITIONS.items() for target in targets)
ILLEGAL = sorted(
    pair for pair in itertools.product(JobState, JobState) if pair[1] not in TRANSITIONS[pair[0]]
)


def _record(state: JobState, **fields: object) -> JobRecord:
    return JobRecord.model_validate(
        {
            "printer": "FILM",
            "job_id": "20260102-030405-abcdef",
            "created": CREATED,
            "updated": CREATED,
            "state": state,
            **fields,
        }
    )


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_every_allowed_transition_works(source: JobState, target: JobState) -> None:
    record = _record(source, last_error="old", next_attempt=CREATED + timedelta(minutes=1))
    info = JobInfo.PRINTER_DOWN if target is JobState.FAILURE else None
    moved = record.to(target, info=info, reason="why", attempts=3)
    assert moved.state is target and source.can_become(target)
    assert moved.state_info == (info or DEFAULT_INFO[target]).value
    assert (moved.last_error, moved.next_attempt, moved.attempts) == ("why", None, 3)
    assert record.state is source  # records are values: the old one is unchanged


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_every_other_transition_is_refused(source: JobState, target: JobState) -> None:
    with pytest.raises(IllegalTransition, match=f"{source} cannot become {target}"):
        _record(source).to(target, info=JobInfo.INVALID_PAGE_DES)
    assert not source.can_become(target)


def test_the_table_matches_what_the_spool_does() -> None:
    assert not TRANSITIONS[JobState.DONE]  # a printed film is never sent again
    assert (JobState.HELD, JobState.PRINTING) in ILLEGAL  # a held film waits for release
    assert (JobState.RENDERING, JobState.PRINTING) in ILLEGAL  # no document yet
    assert (JobState.FAILURE, JobState.CANCELED) in ILLEGAL  # final until retried
    for state in JobState:  # whatever is unfinished can be canceled, and only that
        assert state.can_become(JobState.CANCELED) is not state.final
    assert set(TRANSITIONS) == set(JobState)


def test_misuse_of_to_is_a_type_error() -> None:
    record = _record(JobState.PRINTING)
    with pytest.raises(TypeError, match="needs its info"):
        record.to(JobState.FAILURE)  # a failure always says which
    with pytest.raises(TypeError, match="state_info"):
        record.to(JobState.DONE, state_info="NORMAL")
    with pytest.raises(TypeError, match="no_such_field"):
        record.to(JobState.DONE, no_such_field=1)


def test_operator_refusals_follow_the_table() -> None:
    retried = operations.RETRIED
    assert retried == {JobState.FAILURE, JobState.CANCELED}
    held_from = {state for state in JobState if state.can_become(JobState.HELD)}
    assert held_from == {JobState.RENDERING, JobState.PENDING}  # "only jobs not yet sent"


def test_records_written_before_still_load_and_keep_their_fields() -> None:
    written = {  # a job.json as every earlier version wrote it
        "printer": "FILM",
        "calling_ae": "MODALITY",
        "film_session_uid": "1.2.3",
        "film_box_uids": ["1.2.3.1"],
        "title": "t",
        "copies": 1,
        "priority": "MED",
        "media": "",
        "pages": 1,
        "print_job_uid": "",
        "medium_type": "",
        "destination": "",
        "film_size": "",
        "job_id": "20260102-030405-abcdef",
        "created": "2026-01-02T03:04:05Z",
        "updated": "2026-01-02T03:04:06Z",
        "state": "held",
        "state_info": "REQ MED NOT INST",
        "cups_job_id": None,
        "submit_started": None,
        "attempts": 0,
        "last_error": "14INX17IN not loaded",
        "next_attempt": None,
        "document_bytes": 10,
        "schema_version": 1,
        "history": [
            {
                "time": "2026-01-02T03:04:05Z",
                "state": "held",
                "info": "REQ MED NOT INST",
                "note": "spooled",
            }
        ],
        "stuck": False,
    }
    record = JobRecord.model_validate_json(json.dumps(written))
    assert record.state_info == JobInfo.REQ_MED_NOT_INST
    assert list(json.loads(record.model_dump_json())) == list(written)
    assert json.loads(record.to(JobState.PENDING).model_dump_json())["state_info"] == "QUEUED"
    assert {info.value for info in JobInfo} == {
        "QUEUED",
        "PRINTING",
        "NORMAL",
        "PRINTER DOWN",
        "INVALID PAGE DES",
        "REQ MED NOT INST",
        "CANCELED",
    }  # what operators' scripts read


@pytest.mark.parametrize(
    ("state", "info", "reported"),
    [
        (JobState.RENDERING, JobInfo.QUEUED, ("PENDING", "QUEUED")),
        (JobState.PENDING, JobInfo.QUEUED, ("PENDING", "QUEUED")),
        (JobState.HELD, JobInfo.QUEUED, ("PENDING", "QUEUED")),
        (JobState.HELD, JobInfo.REQ_MED_NOT_INST, ("PENDING", "REQ MED NOT INST")),
        (JobState.PRINTING, JobInfo.PRINTING, ("PRINTING", "NORMAL")),
        (JobState.DONE, JobInfo.NORMAL, ("DONE", "NORMAL")),
        (JobState.FAILURE, JobInfo.PRINTER_DOWN, ("FAILURE", "PRINTER DOWN")),
        (JobState.FAILURE, JobInfo.INVALID_PAGE_DES, ("FAILURE", "INVALID PAGE DES")),
        (JobState.CANCELED, JobInfo.CANCELED, ("FAILURE", "UNKNOWN")),
    ],
)
def test_what_a_dicom_client_is_told(
    state: JobState, info: JobInfo, reported: tuple[str, str]
) -> None:
    assert execution_status(_record(state, state_info=info)) == reported
