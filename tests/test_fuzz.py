"""A bounded, deterministic fuzz run of the print SCP, run as its own process.

Two families of inputs, drawn from one seed by tests/fuzz_cases.py:

* PDU level, over raw sockets: mutated A-ASSOCIATE-RQs (byte flips, truncations, wrong item
  lengths, headers claiming up to 4 GB), wrong PDU types, garbage, and broken P-DATA-TF on an
  established association (bad PDV lengths, context IDs never negotiated, command sets that do
  not decode, missing last-fragment bits).  Whole P-DATA PDUs share one association, each
  followed by a C-ECHO that tells whether the association survived; the others get their own
  connection, which is closed after them.
* DIMSE level, through real associations: Film Session, Film Box, Image Box, Annotation Box
  and Presentation LUT requests, N-GET, N-ACTION and N-DELETE, each valid but for a few
  mutated attributes (absurd numbers, empty values, long strings, control characters,
  PostScript and shell injection strings, wrong types and VRs, mismatched pixel modules).
  Data sets are encoded byte by byte (Implicit or Explicit VR Little Endian), so values
  pydicom or pynetdicom would refuse to write reach the server too.

A few pinned inputs follow the random ones in each family: findings of earlier runs, and
inputs whose fixes are under way (huge PDU lengths, ``STANDARD\\65535,65535``).

What must hold: every answered request has a success or warning status or a failure the server
documents (``printserver.net.status.FAILURES``, the C6xx print codes) and no answer is a
0x0110 from an exception inside the server; a well-formed request is answered, not aborted;
valid A-ASSOCIATE-RQs are accepted, also while a dozen idle connections are open; the server
process is alive afterwards; a legitimate film prints and lands in the output directory; the
server's resident memory never grew more than ``RSS_GROWTH_MB`` over the run; the films the
fuzzed requests printed have an intact DSC structure and no injected operator outside a
string; SIGTERM stops the server within ``STOP_TIMEOUT``; and the server log has no
traceback of the ``printserver`` package.  Tracebacks that pynetdicom logs for garbage it
receives are listed in the output, not asserted.

Run it longer with another seed, for instance::

    PRINTSERVER_FUZZ_SEED=7 PRINTSERVER_FUZZ_CASES=20000 .venv/bin/pytest tests/test_fuzz.py -s

``PRINTSERVER_FUZZ_SEED`` (default 20250611) picks the inputs; ``PRINTSERVER_FUZZ_CASES``
(default 2400) is the number of random cases, 45 % PDU-level and 55 % DIMSE-level.  The seed
and the counts are printed (``-s`` shows them), and every failure names the numbered inputs
that caused it, with the data set's bytes for an unexpected status.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pynetdicom.pdu import A_ASSOCIATE_AC
from pynetdicom.pdu_items import MaximumLengthSubItem

from printserver.net.status import FAILURES
from tests import fuzz_cases as fc
from tests.hostile_peer import RELEASE_RQ, associate_rq, pdu_header, peak_rss_kb, rss_kb
from tests.print_client import PrintClient, output_files
from tests.server_harness import REPO, ServerProcess, config_text, free_port

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("PRINTSERVER_FUZZ_SEED", "20250611"))
CASES = int(os.environ.get("PRINTSERVER_FUZZ_CASES", "2400"))
PDU_SHARE = 0.45
"""Part of the random cases that are PDU-level; the rest are DIMSE requests."""

RSS_GROWTH_MB = 150
RSS_KILL_MB = 1500
"""The server is killed (and the run fails) beyond this growth: the run must not exhaust RAM."""
IO_TIMEOUT = 5.0
"""Seconds one request may take to be answered (a print of a fuzzed film included)."""
PROBE_TIMEOUT = 3.0
CLOSE_TIMEOUT = 5.0
"""Seconds the server has to close a connection after the peer closed its side."""
STOP_TIMEOUT = 10.0
"""Seconds the server has to exit after SIGTERM once the run is over."""
ROTATE_AFTER = 40
"""DIMSE requests per association before a new one: each has its own film session."""
IMPLICIT_LE, EXPLICIT_LE = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
PROPOSED = (
    fc.GRAY_META,
    fc.VERIFICATION,
    fc.COLOR_META,
    fc.PRESENTATION_LUT,
    fc.ANNOTATION_BOX,
    fc.PRINTER,
    fc.PRINT_JOB,
    fc.PRINTER_CONFIGURATION,
)
"""Context IDs 1, 3, 5 … with Implicit VR Little Endian, then the same with Explicit VR."""


# the wire -------------------------------------------------------------------------------------


class Closed(Exception):
    """The server closed, reset or aborted the connection."""


class Refused(Closed):
    """The server answered an A-ASSOCIATE-RQ with A-ASSOCIATE-RJ."""


class SetupRefused(Exception):
    """A valid request preparing a fuzzed one (a Film Session, a Film Box) was refused."""


@dataclass
class Reply:
    status: int | None
    comment: str
    command: Dataset
    data: bytes = b""


class Wire:
    """One TCP connection to 127.0.0.1 where every read and write has a deadline."""

    def __init__(self, port: int, timeout: float = IO_TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()

    def send(self, data: bytes) -> bool:
        """False when the server has closed or reset the connection meanwhile."""
        self.sock.settimeout(IO_TIMEOUT)
        try:
            self.sock.sendall(data)
        except (OSError, TimeoutError):
            return False
        return True

    def _fill(self, count: int, deadline: float) -> None:
        while len(self.buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            except TimeoutError:
                raise
            except OSError as exc:  # reset by the server
                raise Closed(str(exc)) from None
            if not chunk:
                raise Closed("connection closed")
            self.buffer += chunk

    def read_pdu(self, timeout: float) -> tuple[int, bytes]:
        deadline = time.monotonic() + timeout
        self._fill(6, deadline)
        pdu_type, _, length = struct.unpack(">BBL", self.buffer[:6])
        self._fill(6 + length, deadline)
        body = bytes(self.buffer[6 : 6 + length])
        del self.buffer[: 6 + length]
        return pdu_type, body

    def finish(self, timeout: float = CLOSE_TIMEOUT) -> tuple[list[int], bool]:
        """Close our side; the PDU types the server still sent, and whether it closed too."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        closed = False
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            self.buffer += chunk
        types = []
        data = bytes(self.buffer)
        while len(data) >= 6:
            pdu_type, _, length = struct.unpack(">BBL", data[:6])
            types.append(pdu_type)
            data = data[6 + length :]
        self.close()
        return types, closed

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def associate_request(called: str, calling: str = "FUZZER") -> bytes:
    return associate_rq(called, calling, PROPOSED, 65536, (IMPLICIT_LE, EXPLICIT_LE))


def decode(data: bytes, explicit: bool = False) -> Dataset:
    return read_dataset(BytesIO(data), is_implicit_VR=not explicit, is_little_endian=True)


class Association:
    """A DIMSE client on a raw socket: every byte it sends is the caller's choice."""

    def __init__(self, port: int, called: str) -> None:
        self.wire = Wire(port)
        self.message_id = 0
        if not self.wire.send(associate_request(called)):
            raise Closed("could not send the A-ASSOCIATE-RQ")
        pdu_type, body = self.wire.read_pdu(IO_TIMEOUT)
        if pdu_type != 0x02:
            self.wire.close()
            kind = Refused if pdu_type == 0x03 else Closed
            reason = f" {body[-3:].hex(' ')}" if pdu_type == 0x03 else ""
            raise kind(f"association to {called} answered with PDU type 0x{pdu_type:02X}{reason}")
        accept = A_ASSOCIATE_AC()
        accept.decode(pdu_header(pdu_type, len(body)) + body)
        self.contexts: dict[tuple[str, bool], int] = {}
        proposed = [(uid, False) for uid in PROPOSED] + [(uid, True) for uid in PROPOSED]
        for item in accept.presentation_context:
            if item.result_reason == 0 and item.context_id is not None:
                self.contexts[proposed[(item.context_id - 1) // 2]] = item.context_id
        max_pdu = 0
        for sub in accept.user_information.user_data if accept.user_information else []:
            if isinstance(sub, MaximumLengthSubItem):
                max_pdu = int(sub.maximum_length_received or 0)
        self.fragment = min(max_pdu or 16384, 16384) - 6

    def context(self, abstract: str, explicit: bool) -> int:
        found = self.contexts.get((abstract, explicit)) or self.contexts.get((abstract, False))
        if found is None:
            raise Closed(f"no accepted presentation context for {abstract}")
        return found

    def send_message(self, context_id: int, command: bytes, data: bytes | None) -> bool:
        pdus = []
        for control, payload in ((1, command), (0, data)):
            if payload is None:
                continue
            chunks = [
                payload[i : i + self.fragment] for i in range(0, len(payload), self.fragment)
            ] or [b""]
            for number, chunk in enumerate(chunks):
                last = 2 if number == len(chunks) - 1 else 0
                pdus.append(fc.p_data_pdu(fc.pdv(context_id, control | last, chunk)))
        return self.wire.send(b"".join(pdus))

    def receive(self, timeout: float) -> Reply:
        """The next DIMSE message from the server; requests (events) are answered."""
        deadline = time.monotonic() + timeout
        command, data = bytearray(), bytearray()
        done_command, expect_data = False, False
        context_id = 1
        while True:
            pdu_type, body = self.wire.read_pdu(max(0.01, deadline - time.monotonic()))
            if pdu_type != 0x04:
                raise Closed(f"PDU type 0x{pdu_type:02X} instead of P-DATA-TF")
            offset = 0
            while offset + 6 <= len(body):
                length, context_id, control = struct.unpack(">LBB", body[offset : offset + 6])
                fragment = body[offset + 6 : offset + 4 + length]
                offset += 4 + length
                if control & 1:
                    command += fragment
                    if control & 2:
                        done_command = True
                        cs = self._command(bytes(command))
                        expect_data = int(cs.get("CommandDataSetType", 0x0101)) != 0x0101
                else:
                    data += fragment
                    if control & 2:
                        expect_data = False
            if done_command and not expect_data:
                break
        cs = self._command(bytes(command))
        field_value = int(cs.get("CommandField", 0))
        if not field_value & 0x8000:  # a request of the server's own (an event): success
            self._answer(cs, context_id)
            return self.receive(max(0.01, deadline - time.monotonic()))
        status = cs.get("Status")
        return Reply(
            None if status is None else int(status),
            str(cs.get("ErrorComment", "")),
            cs,
            bytes(data),
        )

    @staticmethod
    def _command(data: bytes) -> Dataset:
        try:
            cs = decode(data)
            cs.get("CommandField")
            cs.get("Status")
        except Exception as exc:
            raise Closed(f"a command set that does not decode: {exc}") from None
        return cs

    def _answer(self, request: Dataset, context_id: int) -> None:
        body = fc.encode(
            [
                (0x00000002, "UI", str(request.get("AffectedSOPClassUID", ""))),
                (0x00000100, "US", int(request.CommandField) | 0x8000),
                (0x00000120, "US", int(request.get("MessageID", 0))),
                (0x00000800, "US", 0x0101),
                (0x00000900, "US", 0),
            ],
            explicit=False,
            refs=str,
        )
        group = struct.pack("<HHLL", 0, 0, 4, len(body))
        self.send_message(context_id, group + body, None)

    def request(
        self,
        command_field: int,
        sop_class: str,
        instance: str | None,
        *,
        context: str,
        data: bytes | None,
        explicit: bool = False,
        action_type: int | None = None,
        attribute_ids: tuple[int, ...] = (),
        timeout: float = IO_TIMEOUT,
    ) -> Reply:
        self.message_id = self.message_id % 0xFFFF + 1
        extra: fc.Elements = []
        if action_type is not None:
            extra.append((0x00001008, "US", action_type))
        if attribute_ids:
            extra.append((0x00001005, "AT", list(attribute_ids)))
        command = fc.command_set(
            command_field,
            sop_class,
            self.message_id,
            dataset=data is not None,
            instance=instance,
            extra=extra,
        )
        context_id = self.context(context, explicit)
        if not self.send_message(context_id, command, data):
            raise Closed("the server closed the connection")
        while True:
            reply = self.receive(timeout)
            if int(reply.command.get("MessageIDBeingRespondedTo", -1)) == self.message_id:
                return reply

    def echo(self, timeout: float = PROBE_TIMEOUT) -> list[Reply]:
        """C-ECHO; returns the answers to earlier messages that came before its own."""
        self.message_id = self.message_id % 0xFFFF + 1
        own = self.message_id
        command = fc.command_set(fc.C_ECHO, fc.VERIFICATION, own)
        if not self.send_message(self.context(fc.VERIFICATION, False), command, None):
            raise Closed("the server closed the connection")
        others: list[Reply] = []
        while True:
            reply = self.receive(timeout)
            if int(reply.command.get("MessageIDBeingRespondedTo", -1)) == own:
                return others
            others.append(reply)

    def release(self) -> None:
        if self.wire.send(RELEASE_RQ):
            with contextlib.suppress(Closed, TimeoutError):
                self.wire.read_pdu(PROBE_TIMEOUT)
        self.wire.close()


# what the server may answer --------------------------------------------------------------------


def status_problem(
    status: int | None, comment: str, command: int = 0, sop_class: str = ""
) -> str | None:
    """None when ``status`` is one the server may answer, else what is wrong with it."""
    if status is None:
        return "answer without a Status"
    if status == 0x0000 or status in (0x0001, 0x0107, 0x0116) or 0xB000 <= status <= 0xBFFF:
        return None
    if status == 0x0110:
        lut_in_use = command == fc.N_DELETE and sop_class == fc.PRESENTATION_LUT
        if lut_in_use and not comment.startswith("internal error"):
            return None
        return f"0x0110 {comment!r}"
    if status in FAILURES or 0xC600 <= status <= 0xC6FF:
        return None
    return f"undocumented status 0x{status:04X} {comment!r}"


@dataclass
class Findings:
    """What went wrong, by kind, each with the inputs that caused it."""

    items: dict[str, list[str]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, detail: str) -> None:
        self.items.setdefault(kind, []).append(detail)

    def report(self, limit: int = 12) -> str:
        lines = []
        for kind, details in self.items.items():
            lines.append(f"{kind}: {len(details)}")
            lines += [f"    {detail}" for detail in details[:limit]]
            if len(details) > limit:
                lines.append(f"    … and {len(details) - limit} more")
        return "\n".join(lines)


class Memory:
    """Samples the server's VmRSS; kills it beyond ``RSS_KILL_MB`` of growth."""

    def __init__(self, pid: int, baseline_kb: int) -> None:
        self.pid, self.baseline = pid, baseline_kb
        self.peak = baseline_kb
        self.killed = ""
        self.current = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                rss = rss_kb(self.pid)
            except (OSError, LookupError):
                return
            self.peak = max(self.peak, rss)
            if rss - self.baseline > RSS_KILL_MB * 1024 and not self.killed:
                self.killed = f"{self.current} (VmRSS {rss // 1024} MB)"
                os.kill(self.pid, signal.SIGKILL)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1024


# the runs ------------------------------------------------------------------------------------


def _must_stop(case: Any, findings: Findings, memory: Memory, alive: Any, deadline: float) -> bool:
    """Out of time or the server gone: the run ends, saying so; else note the case."""
    if time.monotonic() > deadline:
        findings.add("ran out of time", f"stopped before #{case.index} {case.label}")
        return True
    if not alive():
        findings.add("server gone", f"before #{case.index} {case.label}")
        return True
    memory.current = f"#{case.index} {case.label}"
    return False


def run_pdu_cases(
    port: int,
    cases: list[fc.PduCase],
    findings: Findings,
    memory: Memory,
    alive: Any,
    deadline: float,
) -> None:
    shared: Association | None = None
    recent: deque[str] = deque(maxlen=12)
    for case in cases:
        if _must_stop(case, findings, memory, alive, deadline):
            break
        try:
            if case.keeps_framing:
                if shared is None:
                    shared = Association(port, "FUZZ")
                shared = _framed(shared, case, findings)
            else:
                wire = Wire(port) if case.stage == "connect" else Association(port, "FUZZ").wire
                wire.send(case.payload)
                types, closed = wire.finish()
                findings.outcomes["server sent " + ",".join(f"{t:02X}" for t in types[:3])] += 1
                if "[pinned]" in case.label:
                    print(
                        f"#{case.index} {case.label}: server sent PDU types {types}, "
                        f"{'closed' if closed else 'kept the connection'}"
                    )
                if not closed:
                    findings.add(
                        "connection kept open after the peer closed", f"#{case.index} {case.label}"
                    )
        except Refused as exc:
            findings.outcomes["association refused"] += 1
            if not findings.items.get("a valid A-ASSOCIATE-RQ refused"):
                findings.add(
                    "a valid A-ASSOCIATE-RQ refused",
                    f"first at #{case.index} ({exc}); the cases before it: " + " | ".join(recent),
                )
        except (Closed, TimeoutError, OSError) as exc:
            findings.add("could not connect or associate", f"#{case.index} {case.label}: {exc}")
        recent.append(f"#{case.index} {case.label[:70]}")
    if shared is not None:
        shared.release()
    if findings.outcomes["association refused"] > 1:
        findings.add(
            "a valid A-ASSOCIATE-RQ refused",
            f"{findings.outcomes['association refused']} cases in all",
        )


def _framed(assoc: Association, case: fc.PduCase, findings: Findings) -> Association | None:
    """Send whole PDUs, then a C-ECHO: answers are checked, an abort ends the association."""
    if not assoc.wire.send(case.payload):
        findings.outcomes["closed while sending"] += 1
        assoc.wire.close()
        return None
    try:
        for reply in assoc.echo():
            problem = status_problem(reply.status, reply.comment)
            findings.outcomes[f"answer 0x{reply.status or 0:04X}"] += 1
            if problem:
                findings.add(
                    "unexpected status (PDU level)", f"#{case.index} {case.label}: {problem}"
                )
    except Closed:
        findings.outcomes["association ended"] += 1
        assoc.wire.close()
        return None
    except TimeoutError:
        findings.outcomes["no answer to the C-ECHO"] += 1
        assoc.wire.close()
        return None
    findings.outcomes["association survived"] += 1
    return assoc


class DimseRun:
    """Runs print requests, setting up the film session and film box each one needs."""

    def __init__(self, port: int, findings: Findings, seed: int) -> None:
        self.port, self.findings, self.seed = port, findings, seed
        self.assoc: Association | None = None
        self.key: tuple[str, bool] | None = None
        self.refs: dict[str, str] = {}
        self.used = 0
        self.answered: Counter[int] = Counter()

    def close(self) -> None:
        if self.assoc is not None:
            self.assoc.release()
        self.assoc = None

    def _drop(self) -> None:
        if self.assoc is not None:
            self.assoc.wire.close()
        self.assoc = None

    def _connect(self, printer: str, color: bool) -> None:
        self.close()
        self.assoc = Association(self.port, printer)
        self.key, self.refs, self.used = (printer, color), {}, 0

    def _uid(self, name: str, index: int) -> str:
        if name in ("new", "none"):
            return f"2.25.{self.seed}{index:07d}"
        return self.refs.get(name, "2.25.404")

    def _setup(
        self, what: str, command: int, sop_class: str, context: str, data: fc.Elements
    ) -> Reply:
        assert self.assoc is not None
        encoded = fc.encode(data, explicit=False, refs=lambda name: self._uid(name, 0))
        reply = self.assoc.request(command, sop_class, None, context=context, data=encoded)
        if reply.status not in (0x0000, 0x0116) and not 0xB000 <= (reply.status or 0) <= 0xBFFF:
            raise SetupRefused(f"{what} refused with {reply.status} {reply.comment!r}")
        return reply

    def _prepare(self, case: fc.DimseCase) -> None:
        elem = fc.elem
        meta = fc.COLOR_META if case.color else fc.GRAY_META
        if "lut" not in self.refs:
            reply = self._setup(
                "Presentation LUT",
                fc.N_CREATE,
                fc.PRESENTATION_LUT,
                fc.PRESENTATION_LUT,
                [elem("PresentationLUTShape", "IDENTITY")],
            )
            self.refs["lut"] = str(reply.command.AffectedSOPInstanceUID)
        if "session" not in self.refs:
            reply = self._setup(
                "Film Session",
                fc.N_CREATE,
                fc.FILM_SESSION,
                meta,
                [elem("FilmSessionLabel", "FUZZ")],
            )
            self.refs["session"] = str(reply.command.AffectedSOPInstanceUID)
        if case.needs == "film_box" and "film_box" not in self.refs:
            reference = [
                elem("ReferencedSOPClassUID", fc.FILM_SESSION),
                elem("ReferencedSOPInstanceUID", fc.Ref("session")),
            ]
            data = fc.sorted_elements(
                [
                    elem("ImageDisplayFormat", "STANDARD\\2,2"),
                    elem("FilmSizeID", "8INX10IN"),
                    elem("AnnotationDisplayFormatID", "LABEL"),
                    elem("ReferencedFilmSessionSequence", fc.Seq((reference,))),
                ]
            )
            reply = self._setup("Film Box", fc.N_CREATE, fc.FILM_BOX, meta, data)
            self.refs["film_box"] = str(reply.command.AffectedSOPInstanceUID)
            created = decode(reply.data)
            for position, item in enumerate(created.ReferencedImageBoxSequence, start=1):
                self.refs[f"image_box:{position}"] = str(item.ReferencedSOPInstanceUID)
            for item in created.get("ReferencedBasicAnnotationBoxSequence", []):
                self.refs["annotation_box"] = str(item.ReferencedSOPInstanceUID)

    def run(self, case: fc.DimseCase) -> None:
        key = (case.printer, case.color)
        if (
            self.assoc is None
            or key != self.key
            or case.needs == "fresh"
            or self.used >= ROTATE_AFTER
        ):
            self._connect(*key)
        assert self.assoc is not None
        self.used += 1
        if case.needs != "fresh":
            self._prepare(case)

        def refs(name: str) -> str:
            return self._uid(name, case.index)

        target = case.target
        instance = (
            None
            if target == fc.Ref("none")
            else (refs(target.name) if isinstance(target, fc.Ref) else target)
        )
        data = (
            None if case.data is None else fc.encode(case.data, explicit=case.explicit, refs=refs)
        )
        if case.command in (fc.N_GET, fc.N_ACTION, fc.N_DELETE):
            data = None
        context = case.context
        if context == "meta":
            context = fc.COLOR_META if case.color else fc.GRAY_META
        reply = self.assoc.request(
            case.command,
            case.sop_class,
            instance,
            context=context,
            data=data,
            explicit=case.explicit,
            action_type=case.action_type,
            attribute_ids=case.attribute_ids,
        )
        self.answered[reply.status if reply.status is not None else -1] += 1
        if "[pinned]" in case.label:
            print(f"#{case.index} {case.label}: 0x{reply.status or 0:04X} {reply.comment!r}")
        problem = status_problem(reply.status, reply.comment, case.command, case.sop_class)
        if problem:
            sent = (
                ""
                if data is None
                else (
                    f" | data set ({'explicit' if case.explicit else 'implicit'} VR LE, "
                    f"{len(data)} bytes): {data[:160].hex()}{'…' if len(data) > 160 else ''}"
                )
            )
            self.findings.add("unexpected status", f"#{case.index} {case.label}: {problem}{sent}")
        ok = reply.status is not None and (
            reply.status == 0
            or 0xB000 <= reply.status <= 0xBFFF
            or reply.status in (0x0001, 0x0116)
        )
        if ok and case.command == fc.N_DELETE:
            for name in case.affects:
                for key_name in [k for k in self.refs if k.startswith(name)]:
                    del self.refs[key_name]
            if "film_box" in case.affects:
                for key_name in [
                    k for k in self.refs if k.startswith(("image_box", "annotation_box"))
                ]:
                    del self.refs[key_name]
        elif ok and case.command == fc.N_CREATE and case.affects:
            self.refs[case.affects[0]] = str(reply.command.get("AffectedSOPInstanceUID", ""))


def run_dimse_cases(
    port: int,
    cases: list[fc.DimseCase],
    findings: Findings,
    memory: Memory,
    alive: Any,
    deadline: float,
    seed: int,
) -> Counter[int]:
    run = DimseRun(port, findings, seed)
    for case in cases:
        if _must_stop(case, findings, memory, alive, deadline):
            break
        try:
            run.run(case)
        except TimeoutError:
            findings.add("no answer", f"#{case.index} {case.label}")
            run._drop()
        except Closed as exc:
            findings.add(
                "association ended instead of an answer", f"#{case.index} {case.label}: {exc}"
            )
            run._drop()
        except SetupRefused as exc:
            findings.add("valid set-up refused", f"before #{case.index}: {exc}")
            run._drop()
        except OSError as exc:
            findings.add("could not connect", f"#{case.index} {case.label}: {exc}")
            run._drop()
    run.close()
    return run.answered


# the server ---------------------------------------------------------------------------------


RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.]+): (.*)$")


def tracebacks(log: str) -> list[tuple[str, str, str, bool]]:
    """(logger, message, exception, ours) of every traceback in the log.

    A traceback is ours when a ``printserver`` logger wrote it or the exception was raised in
    a ``printserver`` module (frames that merely pass a call through do not count).
    """
    package = str(REPO / "printserver") + os.sep
    found = []
    logger, message = "?", ""
    lines = log.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        record = RECORD.match(line)
        if record:
            logger, message = record.group(2), record.group(3)
        elif line.startswith("Exception in thread"):
            logger, message = "uncaught in a thread", line
        if line.startswith("Traceback (most recent call last):"):
            frames, index = [], index + 1
            while index < len(lines) and (
                lines[index].startswith((" ", "\t")) or not lines[index].strip()
            ):
                if lines[index].lstrip().startswith('File "'):
                    frames.append(lines[index].strip())
                index += 1
            exception = lines[index] if index < len(lines) else ""
            raised_here = bool(frames) and frames[-1].startswith(f'File "{package}')
            found.append(
                (
                    logger,
                    message[:160],
                    exception[:200],
                    logger.startswith("printserver") or raised_here,
                )
            )
        index += 1
    return found


BEGIN_DATA = re.compile(rb"^%%BeginData: *([0-9]+) +Binary +Bytes[^\n]*\n", re.MULTILINE)
INJECTED = ("settransfer", "quit", "9999999 string", "reboot", "DROP TABLE", "/etc/passwd")
"""Words of the injection strings that no film's PostScript program contains."""


def program_text(document: bytes) -> str:
    """The PostScript of a film without its binary image data (skipped as DSC counts it)."""
    parts, position = [], 0
    while (begin := BEGIN_DATA.search(document, position)) is not None:
        parts.append(document[position : begin.end()])
        position = begin.end() + int(begin.group(1))
    parts.append(document[position:])
    return b"".join(parts).decode("latin-1")


def outside_strings(program: str) -> str:
    """The program less its comments and string literals (nested, escaped)."""
    out, index, length = [], 0, len(program)
    while index < length:
        char = program[index]
        if char == "%":
            end = program.find("\n", index)
            index = length if end < 0 else end
        elif char == "(":
            depth, index = 1, index + 1
            while index < length and depth:
                depth += {"(": 1, ")": -1}.get(program[index], 0)
                index += 2 if program[index] == "\\" else 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def postscript_problems(document: bytes) -> list[str]:
    """What an input may have broken in a film: DSC structure, or code outside strings."""
    program = program_text(document)
    lines = program.splitlines()
    problems = []
    if [line for line in lines if line.startswith("%%EOF")] != [
        "%%EOF"
    ] or program.rstrip().splitlines()[-1:] != ["%%EOF"]:
        problems.append("not exactly one %%EOF, at the end")
    declared = [line.split(":", 1)[1].strip() for line in lines if line.startswith("%%Pages:")]
    pages = sum(line.startswith("%%Page:") for line in lines)
    if declared != [str(pages)]:
        problems.append(f"%%Pages: {declared} but {pages} %%Page: comments")
    if lines[:1] != ["%!PS-Adobe-3.0"]:
        problems.append(f"first line {lines[:1]}")
    code = outside_strings(program)
    problems += [f"{word!r} outside any string" for word in INJECTED if word in code]
    return problems


@pytest.fixture
def fuzz_server(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    printers = (
        f'[[printers]]\nae_title = "PRINTSERVER"\ndirectory = "{tmp_path / "output"}"\n'
        f'[[printers]]\nae_title = "FUZZ"\ndirectory = "{tmp_path / "fuzz-output"}"\n'
        "dpi = 100\n"
        f'[[printers]]\nae_title = "STRICT"\ndirectory = "{tmp_path / "strict-output"}"\n'
        "dpi = 100\nstrict = true\n"
    )
    text = config_text(tmp_path / "spool", port, printers).replace(
        'log_level = "DEBUG"', 'log_level = "INFO"'
    )
    config = tmp_path / "printserver.toml"
    config.write_text(text)
    server = ServerProcess(config, port, tmp_path, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


def _warm_up(server: ServerProcess) -> int:
    """Print one film first, so modules and caches are loaded before the baseline is taken."""
    client = PrintClient(server.port, called="FUZZ")
    assert client.established
    client.flat_film(700, FilmSessionLabel="WARM-UP")
    client.release()
    time.sleep(0.5)
    assert server.process is not None
    return rss_kb(server.process.pid)


def _idle_connections_leave_room(port: int, findings: Findings) -> None:
    """Idle and half-sent connections must not keep a real client out."""
    idle = []
    try:
        for number in range(12):
            wire = Wire(port)
            if number % 2:
                wire.send(b"\x01\x00\x00")  # half a PDU header, then nothing
            idle.append(wire)
        time.sleep(0.2)
        assoc = Association(port, "FUZZ")
        assoc.echo()
        assoc.release()
    except (Closed, TimeoutError, OSError) as exc:
        findings.add("a client was kept out by 12 idle connections", repr(exc))
    finally:
        for wire in idle:
            wire.close()


def _check_after(
    server: ServerProcess,
    tmp_path: Path,
    findings: Findings,
    memory: Memory,
    answered: Counter[int] | None,
) -> None:
    """Alive, bounded memory, a real film prints, a prompt stop, no traceback of ours."""
    process = server.process
    assert process is not None
    if process.poll() is not None:
        findings.add("server process died", f"exit code {process.returncode} {memory.killed}")
    else:
        print(
            f"VmRSS: baseline {memory.baseline // 1024} MB, sampled peak "
            f"{memory.peak // 1024} MB, now {rss_kb(process.pid) // 1024} MB, VmHWM "
            f"{peak_rss_kb(process.pid) // 1024} MB"
        )
        if memory.growth_mb > RSS_GROWTH_MB:
            findings.add(
                "memory grew too much",
                f"{memory.growth_mb:.0f} MB over the baseline (bound {RSS_GROWTH_MB})",
            )
        try:
            client = PrintClient(server.port)
            if not client.established:
                raise Closed("no association (refused or aborted)")
            status = client.flat_film(900, size="8INX10IN", FilmSessionLabel="AFTER-FUZZ")
            client.release()
            if int(status.Status) != 0:
                findings.add("legitimate film refused", f"status 0x{int(status.Status):04X}")
            else:
                output_files(tmp_path / "output", 1, timeout=10)
        except Exception as exc:
            findings.add("legitimate film failed", repr(exc))
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            findings.add(
                "SIGTERM did not stop the server", f"still running {STOP_TIMEOUT:g} s after SIGTERM"
            )
            process.kill()
            process.wait(5)
    if memory.killed:
        findings.add("killed for memory", memory.killed)
    films = (
        sorted((tmp_path / "fuzz-output").glob("*.ps"))
        + sorted((tmp_path / "strict-output").glob("*.ps"))
        + sorted((tmp_path / "output").glob("*.ps"))
    )
    for film in films:
        for problem in postscript_problems(film.read_bytes()):
            findings.add("PostScript broken by an input", f"{film.name}: {problem}")
    print(f"{len(films)} films checked for DSC structure and code outside strings")
    traces = tracebacks(server.log.read_text(errors="replace"))
    library = Counter(
        f"{logger}: {re.sub(r'0x[0-9a-fA-F]+|[0-9]+', 'N', exception)}"
        for logger, _, exception, ours in traces
        if not ours
    )
    if library:
        print("tracebacks of other modules in the log (not asserted):")
        for line, count in library.most_common(20):
            print(f"    {count} x {line}")
    for (logger, message, exception), count in Counter(
        trace[:3] for trace in traces if trace[3]
    ).items():
        findings.add(
            "traceback of printserver in the log", f"{count} x {logger}: {message} -> {exception}"
        )
    if answered is not None:
        print(
            "DIMSE statuses:",
            ", ".join(f"0x{code:04X} x {count}" for code, count in sorted(answered.items())),
        )
    if findings.outcomes:
        print("outcomes:", ", ".join(f"{k} x {v}" for k, v in findings.outcomes.most_common()))


def _cases(kind: str, count: int | None) -> tuple[random.Random, int]:
    share = PDU_SHARE if kind == "pdu" else 1 - PDU_SHARE
    return random.Random(f"{SEED}-{kind}"), count or max(1, round(CASES * share))


def pdu_inputs(count: int | None = None) -> list[fc.PduCase]:
    rng, count = _cases("pdu", count)
    drawer = fc.PduCases(rng)
    cases = [drawer.draw() for _ in range(count)]
    return cases + fc.pinned_pdu_cases(count + 1)


def dimse_inputs(count: int | None = None) -> list[fc.DimseCase]:
    rng, count = _cases("dimse", count)
    drawer = fc.DimseCases(rng)
    cases = [drawer.draw() for _ in range(count)]
    return cases + fc.pinned_dimse_cases(count + 1)


def test_the_inputs_depend_on_the_seed_alone() -> None:
    assert pdu_inputs(300) == pdu_inputs(300)
    assert dimse_inputs(300) == dimse_inputs(300)


def test_fuzzed_pdus_leave_the_server_serving(fuzz_server: ServerProcess, tmp_path: Path) -> None:
    cases = pdu_inputs()
    print(f"\nfuzz seed {SEED}: {len(cases)} PDU-level cases")
    baseline = _warm_up(fuzz_server)
    findings = Findings()
    process = fuzz_server.process
    assert process is not None
    started = time.monotonic()
    with Memory(process.pid, baseline) as memory:
        run_pdu_cases(
            fuzz_server.port,
            cases,
            findings,
            memory,
            lambda: process.poll() is None,
            started + 30 + len(cases) * 0.1,
        )
        if process.poll() is None:
            _idle_connections_leave_room(fuzz_server.port, findings)
    print(f"{len(cases)} PDU cases in {time.monotonic() - started:.1f} s")
    _check_after(fuzz_server, tmp_path, findings, memory, None)
    assert not findings.items, f"seed {SEED}, {len(cases)} PDU cases:\n{findings.report()}"


def test_fuzzed_print_requests_get_documented_answers(
    fuzz_server: ServerProcess, tmp_path: Path
) -> None:
    cases = dimse_inputs()
    print(f"\nfuzz seed {SEED}: {len(cases)} DIMSE-level cases")
    baseline = _warm_up(fuzz_server)
    findings = Findings()
    process = fuzz_server.process
    assert process is not None
    started = time.monotonic()
    with Memory(process.pid, baseline) as memory:
        answered = run_dimse_cases(
            fuzz_server.port,
            cases,
            findings,
            memory,
            lambda: process.poll() is None,
            started + 30 + len(cases) * 0.1,
            SEED,
        )
    print(f"{len(cases)} DIMSE cases in {time.monotonic() - started:.1f} s")
    _check_after(fuzz_server, tmp_path, findings, memory, answered)
    assert not findings.items, f"seed {SEED}, {len(cases)} DIMSE cases:\n{findings.report()}"
