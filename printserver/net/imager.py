"""A film imager that is a DICOM print SCP itself: the destination of a printer with a
``[dicom]`` table, to which this server is a Print SCU (PS3.4 H).

``as_sent``: the job's film order goes out as the modality sent it, request by request, on
one association: Film Session, Presentation LUTs, Film Box, the image and annotation boxes,
then the N-ACTION that printed it; the session is deleted (PS3.4 H.4.1.2.5) and the
association released.  The imager makes its own image and annotation box UIDs (PS3.4
H.4.2.1.2.1); they stand in for the ones we made, by position.

``composed``: each page we rendered for the job, in P-values (the printer's density model is
left to the imager, ``model/printer.Printer.renders_density``), goes out as the one image of
a ``STANDARD\\1,1`` film box, 12-bit gray or 8-bit RGB, read back from the spooled
PostScript.  The session and film box attributes are the modality's, but for the display
format, the Presentation LUT (none: IDENTITY, PS3.4 H.4.2.1.2.4) and the annotation format
(the annotations are on the page).

Exactly once: the N-ACTION is announced to the delivery lane (``on_created``) before it is
sent.  An N-ACTION whose answer never comes raises :class:`MayHavePrinted`, and a job found
after a crash with its N-ACTION announced is not adopted (the imager cannot be asked):
either way the job is held for an operator, never sent again by itself.

Connecting runs under ``connect_timeout``, every message under ``timeout``.  Text from the
imager (Error Comment, Printer Status Info) is data: logs and pages escape it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import ssl
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.association import Association

from printserver.config import DicomPrinterConfig
from printserver.model.sop_classes import (
    COLOR_PRINT_META,
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_PRINT_META,
    PRINT_JOB,
    PRINTER,
    PRINTER_CONFIGURATION,
    PRINTER_CONFIGURATION_INSTANCE,
    PRINTER_INSTANCE,
)
from printserver.net import composed_film, imager_configuration
from printserver.net import imager_print_job as print_job
from printserver.net.pynetdicom_compat import guard_requestor
from printserver.order.index import OrderIndex, OrderStep, UnreadableIndex
from printserver.order.transfer_syntax import decode_as
from printserver.postscript.reader import NotOurPostScript, Page, iter_samples, page_count
from printserver.sinks.base import (
    STATUS_SECONDS,
    DestinationStatus,
    MayHavePrinted,
    SinkError,
    SinkState,
    Submission,
)
from printserver.spool.store import ORDER_INDEX

LOG = logging.getLogger(__name__)


class _ConnectFailures(logging.Filter):
    """pynetdicom logs a refused connection of ours as two ERROR lines; the delivery lane
    reports it once, with the printer's name, so they are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not text.startswith(("Association request failed", "TCP Initialisation Error"))


logging.getLogger("pynetdicom.transport").addFilter(_ConnectFailures())

SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
TRANSIENT = frozenset({0x0110, 0x0213, 0xC601, 0xC602})
"""Refusals that may pass: processing failure, resource limitation, print queue full."""
PRINTER_STATUS, PRINTER_STATUS_INFO = Tag(0x21100010), Tag(0x21100020)
PRINTER_CONFIGURATION_SEQUENCE = Tag(0x2000001E)


def _meta(step_context: str, class_uid: str) -> str | None:
    """The meta SOP class a request goes under, or None for a class negotiated itself."""
    return None if step_context == class_uid else step_context


def _succeeded(code: int) -> bool:
    """Success or a warning (PS3.4 H.4: 0xB6xx, 0x0107, 0x0116, 0x0001)."""
    return code in (0x0000, 0x0001, 0x0107, 0x0116) or 0xB000 <= code <= 0xBFFF


class DicomSink:
    """The delivery lane's view of one DICOM imager (``sinks/base.Sink``)."""

    def __init__(self, name: str, settings: DicomPrinterConfig, calling_ae: str) -> None:
        self.name = name
        self.settings = settings
        self.calling_ae = settings.calling_ae or calling_ae
        self._following: dict[int, list[str]] = {}
        """Our job's number at this sink → the imager's Print Jobs of the film."""

    @property
    def where(self) -> str:
        s = self.settings
        return f"dicom://{s.called_ae}@{s.host}:{s.port}"

    # the association ------------------------------------------------------------------

    def _tls(self) -> tuple[ssl.SSLContext, str] | None:
        s = self.settings
        if s.ca_certificates is None:
            return None
        context = ssl.create_default_context(cafile=str(s.ca_certificates))
        if s.certificate is not None and s.private_key is not None:
            context.load_cert_chain(str(s.certificate), str(s.private_key))
        return context, s.host

    @contextlib.contextmanager
    def _association(
        self, contexts: set[str], deadline: float | None = None
    ) -> Iterator[Association]:
        """An association proposing ``contexts``; every wait is bounded by the printer's
        timeouts, or by ``deadline`` seconds when that is shorter."""
        s = self.settings
        ae = AE(ae_title=self.calling_ae)
        message = min(s.timeout, deadline or s.timeout)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = message
        ae.connection_timeout = min(s.connect_timeout, deadline or s.connect_timeout)
        ae.maximum_pdu_size = s.max_pdu
        for uid in sorted(contexts):
            ae.add_requested_context(uid, list(SYNTAXES))
        try:
            assoc = ae.associate(s.host, s.port, ae_title=s.called_ae, tls_args=self._tls())
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise SinkError(f"{self.where}: cannot connect: {exc}") from None
        if not assoc.is_established:
            if assoc.is_rejected:
                raise SinkError(f"{self.where} rejected the association")
            raise SinkError(f"{self.where} did not accept an association (down, or not answering)")
        guard_requestor(assoc)
        try:
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()
            if assoc.is_established:
                assoc.abort()

    def _check(self, status: Dataset | None, what: str, *, printing: bool = False) -> None:
        """Raise for a refusal, or for no answer (:class:`MayHavePrinted` after N-ACTION)."""
        if status is None or "Status" not in status:
            message = f"{self.where}: no answer to {what} within {self.settings.timeout:g} s"
            if printing:
                raise MayHavePrinted(message)
            raise SinkError(message)
        code = int(status.Status)
        if _succeeded(code):
            return
        comment = print_job.said(status.get("ErrorComment", ""))
        reason = f"{self.where} refused {what} with 0x{code:04X}" + (
            f": {comment}" if comment else ""
        )
        raise SinkError(reason, transient=code in TRANSIENT)

    # the Sink protocol ----------------------------------------------------------------

    def submit(self, submission: Submission, on_created: Callable[[int], None]) -> int | None:
        """Send the job; None: printed when the imager's N-ACTION succeeded."""
        order: Mapping[str, Path] = submission.order
        if ORDER_INDEX not in order:
            raise SinkError(
                "the job kept no film order to send to a DICOM printer", transient=False
            )
        try:
            index = OrderIndex.load(Path(order[ORDER_INDEX]).read_bytes())
        except (OSError, UnreadableIndex) as exc:
            raise SinkError(f"the film order cannot be read: {exc}", transient=False) from None
        if self.settings.mode == "composed":
            print_jobs = self._submit_composed(submission, index, order, on_created)
        else:
            print_jobs = self._submit_as_sent(index, order, on_created)
        LOG.info("%s: the film went to %s", submission.title, self.where)
        if not print_jobs:
            return None  # printed, as far as the imager tells
        token = secrets.randbelow(2**31 - 2) + 2  # not a number a restart would hand out again
        self._following[token] = print_jobs
        return token

    def _submit_as_sent(
        self, index: OrderIndex, order: Mapping[str, Path], on_created: Callable[[int], None]
    ) -> list[str]:
        """The film order as received, then the N-ACTION that printed it; the imager's
        Print Job, where it made one."""
        contexts = {step.context for step in index.steps} | {GRAYSCALE_PRINT_META, PRINT_JOB}
        with self._association(contexts) as assoc:
            renamed = self._send_order(assoc, index, order)
            action = index.action
            context = next((s.context for s in index.steps if s.instance == action.instance), None)
            on_created(1)  # announced before it is sent: a lost answer is never sent again
            status, reply = assoc.send_n_action(
                None,
                1,
                action.class_uid,
                renamed.get(action.instance, action.instance),
                meta_uid=_meta(context or GRAYSCALE_PRINT_META, action.class_uid),
            )
            self._check(status, f"N-ACTION of {action.class_uid}", printing=True)
            session = index.film_session
            if session is not None:
                self._delete_session(assoc, session.instance, session.context)
        return print_job.referenced(reply)

    def _submit_composed(
        self,
        submission: Submission,
        index: OrderIndex,
        order: Mapping[str, Path],
        on_created: Callable[[int], None],
    ) -> list[str]:
        """Our pages, one film box each, under the modality's film session; the imager's
        Print Jobs, where it made them."""
        boxes = [s for s in index.steps if s.operation == "N-CREATE" and s.class_uid == FILM_BOX]
        try:
            count = page_count(submission.document)
            pages = iter_samples(submission.document)
            first = next(pages)
        except (OSError, StopIteration, NotOurPostScript) as exc:
            raise SinkError(f"the film cannot be read back: {exc}", transient=False) from None
        if count != len(boxes):  # checked before anything is sent: nothing half printed
            raise SinkError(
                f"the film has {count} pages for {len(boxes)} film boxes", transient=False
            )
        meta = COLOR_PRINT_META if first.ndim == 3 else GRAYSCALE_PRINT_META
        uid, session = self._composed_session(index, order, submission.copies)
        print_jobs: list[str] = []
        with self._association({meta, PRINT_JOB}) as assoc:
            status, _ = assoc.send_n_create(session, FILM_SESSION, uid, meta_uid=meta)
            self._check(status, "N-CREATE of the film session")
            announced = False
            films = zip(itertools.chain([first], pages), boxes, strict=True)
            for number, (page, step) in enumerate(films, 1):
                box = self._composed_box(assoc, meta, order, step, uid)
                self._send_page(assoc, meta, box, page)
                if not announced:
                    on_created(1)  # announced before it is sent: a lost answer is never sent again
                    announced = True
                status, reply = assoc.send_n_action(None, 1, FILM_BOX, step.instance, meta_uid=meta)
                self._check(status, f"N-ACTION of film box {number}", printing=True)
                print_jobs += print_job.referenced(reply)
            self._delete_session(assoc, uid, meta)
        return print_jobs

    def _composed_session(
        self, index: OrderIndex, order: Mapping[str, Path], copies: int
    ) -> tuple[str, Dataset]:
        """The modality's film session: its UID and attributes (``net/composed_film``)."""
        step = index.film_session
        if step is None:
            return generate_uid(), composed_film.film_session(Dataset(), copies)
        return step.instance, composed_film.film_session(self._dataset(order, step), copies)

    def _composed_box(
        self,
        assoc: Association,
        meta: str,
        order: Mapping[str, Path],
        step: OrderStep,
        session: str,
    ) -> str:
        """N-CREATE of the film box in ``STANDARD\\1,1``; the imager's image box UID."""
        box = composed_film.film_box(self._dataset(order, step), session)
        status, reply = assoc.send_n_create(box, FILM_BOX, step.instance, meta_uid=meta)
        self._check(status, "N-CREATE of a film box")
        items = reply.get("ReferencedImageBoxSequence", []) if reply is not None else []
        if len(items) != 1:
            raise SinkError(f"{self.where} made {len(items)} image boxes for STANDARD\\1,1")
        return str(items[0].ReferencedSOPInstanceUID)

    def _send_page(self, assoc: Association, meta: str, box: str, page: Page) -> None:
        """The page as the image of image box 1 (PS3.4 H.4.3.1, H.4.4.1)."""
        class_uid, image = composed_film.image_box(page)
        status, _ = assoc.send_n_set(image, class_uid, box, meta_uid=meta)
        self._check(status, "N-SET of the page")

    def _send_order(
        self, assoc: Association, index: OrderIndex, order: Mapping[str, Path]
    ) -> dict[str, str]:
        """Every N-CREATE and N-SET as received; the imager's box UIDs for ours."""
        renamed: dict[str, str] = {}
        for step in index.steps:
            dataset = self._dataset(order, step)
            instance = renamed.get(step.instance, step.instance)
            meta = _meta(step.context, step.class_uid)
            what = f"{step.operation} of {step.class_uid}"
            if step.operation == "N-CREATE":
                status, reply = assoc.send_n_create(
                    dataset if len(dataset) else None, step.class_uid, instance, meta_uid=meta
                )
                self._check(status, what)
                if step.class_uid == FILM_BOX:
                    renamed.update(self._boxes(step, reply))
            else:
                status, _ = assoc.send_n_set(dataset, step.class_uid, instance, meta_uid=meta)
                self._check(status, what)
        return renamed

    def _boxes(self, step: OrderStep, reply: Dataset | None) -> dict[str, str]:
        """Our image and annotation box UIDs → the imager's, by position (PS3.4 H.4.2.1.2.1)."""
        theirs: list[str] = []
        for keyword in ("ReferencedImageBoxSequence", "ReferencedBasicAnnotationBoxSequence"):
            items = reply.get(keyword, []) if reply is not None else []
            theirs += [str(item.ReferencedSOPInstanceUID) for item in items]
        ours = step.children
        if len(theirs) != len(ours):
            raise SinkError(
                f"{self.where} made {len(theirs)} image and annotation boxes for a film box "
                f"that has {len(ours)}",
                transient=False,
            )
        return dict(zip(ours, theirs, strict=True))

    def _dataset(self, order: Mapping[str, Path], step: OrderStep) -> Dataset:
        """A stored data set of the order, with the site's film sizes and media for the
        imager's own (``film_sizes``, ``media``): the one place either mode reads them."""
        try:
            dataset = decode_as(Path(order[step.file]).read_bytes(), step.syntax)
        except (OSError, KeyError) as exc:
            raise SinkError(f"the film order is incomplete: {exc}", transient=False) from None
        except Exception as exc:  # pydicom's word on a stored data set
            raise SinkError(f"a stored data set cannot be read: {exc}", transient=False) from None
        for keyword, mapping in (
            ("FilmSizeID", self.settings.film_sizes),
            ("MediumType", self.settings.media),
        ):
            value = str(dataset.get(keyword, "")).strip()
            if value in mapping:
                setattr(dataset, keyword, mapping[value])
        return dataset

    def _delete_session(self, assoc: Association, uid: str, meta: str) -> None:
        """Leave nothing behind at the imager (PS3.4 H.4.1.2.5); the film is printed anyway."""
        try:
            assoc.send_n_delete(FILM_SESSION, uid, meta_uid=meta)
        except Exception as exc:  # the print is done; a failed clean-up is the imager's
            LOG.warning("%s: the film session was not deleted: %s", self.where, exc)

    def adopt(self, job_id: int) -> bool | None:
        return None  # an imager cannot be asked whether an N-ACTION before a crash printed

    def state(self, job_id: int) -> tuple[SinkState, str]:
        """Where the imager's Print Jobs of a film stand (N-GET, PS3.4 H.4.5.1.2.1).  One
        followed before a restart counts as done: its N-ACTION succeeded."""
        uids = self._following.get(job_id)
        if not uids:
            return SinkState.DONE, ""
        with self._association({PRINT_JOB}, STATUS_SECONDS) as assoc:
            executions = [
                print_job.execution(*assoc.send_n_get(print_job.ASKED, PRINT_JOB, uid))
                for uid in uids
            ]
        state, reason = print_job.film_state(executions, self.where)
        if state in (SinkState.DONE, SinkState.FAILED):
            self._following.pop(job_id, None)
        return state, reason

    def cancel(self, job_id: int) -> None:
        """Stop following: a film at the imager cannot be taken back (its Print Job has no
        cancel in PS3.4 H.4.5)."""
        self._following.pop(job_id, None)

    def configuration(self) -> imager_configuration.ImagerConfiguration | None:
        """The imager's own Printer Configuration Retrieval (PS3.4 H.4.11); None when it
        does not answer it (many imagers do not); SinkError when it cannot be reached."""
        with self._association({PRINTER_CONFIGURATION}, STATUS_SECONDS) as assoc:
            status, reply = assoc.send_n_get(
                [PRINTER_CONFIGURATION_SEQUENCE],
                PRINTER_CONFIGURATION,
                PRINTER_CONFIGURATION_INSTANCE,
            )
        if not print_job.answered(status, reply):
            return None
        return imager_configuration.read(reply)

    def status(self) -> DestinationStatus:
        """The imager's own Printer Status (N-GET of the Printer, PS3.4 H.4.6.1.2.1)."""
        try:
            with self._association({GRAYSCALE_PRINT_META}, STATUS_SECONDS) as assoc:
                status, reply = assoc.send_n_get(
                    [PRINTER_STATUS, PRINTER_STATUS_INFO],
                    PRINTER,
                    PRINTER_INSTANCE,
                    meta_uid=GRAYSCALE_PRINT_META,
                )
        except SinkError as exc:  # the report names the destination already
            message = str(exc).removeprefix(f"{self.where}").lstrip(": ")
            return DestinationStatus(False, False, message, reachable=False)
        if not print_job.answered(status, reply) or reply is None:
            return DestinationStatus(False, False, f"{self.where}: Printer N-GET refused")
        current = print_job.said(reply.get("PrinterStatus", "NORMAL")) or "NORMAL"
        info = print_job.said(reply.get("PrinterStatusInfo", current)) or current
        ok = current != "FAILURE"
        message = "" if info == "NORMAL" else info
        return DestinationStatus(ok, ok, message, printer_status=(current, info))
