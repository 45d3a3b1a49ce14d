"""A pynetdicom print SCU that can speak every Print Management SOP class, for tests."""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt, sop_class

from tests.requestor import guard_reactor
from tests.scu import image_item

GRAY_META = sop_class.BasicGrayscalePrintManagementMeta
COLOR_META = sop_class.BasicColorPrintManagementMeta
OPTIONAL = (
    sop_class.PresentationLUT,
    sop_class.BasicAnnotationBox,
    sop_class.PrintJob,
    sop_class.PrinterConfigurationRetrieval,
)


def color_item(rgb: npt.NDArray[np.uint8], *, planar: int = 1) -> Dataset:
    """A Basic Color Image Sequence item; ``planar`` 1 is by plane, 0 interleaved."""
    item = Dataset()
    item.SamplesPerPixel = 3
    item.PhotometricInterpretation = "RGB"
    item.PlanarConfiguration = planar
    item.Rows, item.Columns = rgb.shape[:2]
    item.BitsAllocated, item.BitsStored, item.HighBit, item.PixelRepresentation = 8, 8, 7, 0
    data = rgb.transpose(2, 0, 1) if planar == 1 else rgb
    item.PixelData = np.ascontiguousarray(data, dtype=np.uint8).tobytes()
    return item


def reference(class_uid: str, uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = uid
    return item


class PrintClient:
    """One association with the meta class and chosen optional classes."""

    def __init__(
        self,
        port: int,
        called: str = "PRINTSERVER",
        calling: str = "TESTSCU",
        *,
        color: bool = False,
        optional: Sequence[str] = OPTIONAL,
        handlers: list[Any] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        ae = AE(ae_title=calling)
        self.meta = COLOR_META if color else GRAY_META
        ae.add_requested_context(self.meta)
        ae.add_requested_context(sop_class.Verification)
        for uid in optional:
            ae.add_requested_context(uid)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
        self.events: list[tuple[str, int, Dataset | None]] = []
        bound = [(evt.EVT_N_EVENT_REPORT, self._on_event), *(handlers or [])]
        tls_args = (tls, "127.0.0.1") if tls is not None else None
        self.assoc = guard_reactor(
            ae.associate("127.0.0.1", port, ae_title=called, evt_handlers=bound, tls_args=tls_args)
        )
        self._id = 0

    def _on_event(self, event: evt.Event) -> tuple[int, None]:
        request: Any = event.request
        info = event.event_information if event.event_information else None
        self.events.append((str(request.AffectedSOPClassUID), int(event.event_type), info))
        return 0, None

    def msg(self) -> int:
        self._id += 1
        return self._id

    @property
    def established(self) -> bool:
        return bool(self.assoc.is_established)

    def create(
        self, class_uid: str, ds: Dataset | None, uid: str | None = None, meta: bool = True
    ) -> tuple[int, str, Dataset | None]:
        uid = uid or generate_uid()
        if ds is not None and len(ds) == 0:
            ds = None  # an empty Dataset would announce a data set and send none
        status, reply = self.assoc.send_n_create(
            ds, class_uid, uid, meta_uid=self.meta if meta else None, msg_id=self.msg()
        )
        return int(status.Status), uid, reply

    def session(self, **attrs: Any) -> tuple[int, str]:
        ds = Dataset()
        for keyword, value in attrs.items():
            setattr(ds, keyword, value)
        status, uid, _ = self.create(sop_class.BasicFilmSession, ds if attrs else None)
        return status, uid

    def film_box(
        self, session_uid: str, display_format: str = "STANDARD\\1,1", **attrs: Any
    ) -> tuple[int, str, Dataset | None]:
        ds = Dataset()
        ds.ImageDisplayFormat = display_format
        ds.ReferencedFilmSessionSequence = [reference(sop_class.BasicFilmSession, session_uid)]
        for keyword, value in attrs.items():
            setattr(ds, keyword, value)
        return self.create(sop_class.BasicFilmBox, ds)

    def lut(self, ds: Dataset) -> tuple[int, str]:
        status, uid, _ = self.create(sop_class.PresentationLUT, ds, meta=False)
        return status, uid

    def set(self, class_uid: str, uid: str, ds: Dataset, meta: bool = True) -> Dataset:
        status, _ = self.assoc.send_n_set(
            ds, class_uid, uid, meta_uid=self.meta if meta else None, msg_id=self.msg()
        )
        return status

    def set_image(self, uid: str, position: int, item: Dataset | None, **attrs: Any) -> Dataset:
        ds = Dataset()
        ds.ImageBoxPosition = position
        color = self.meta == COLOR_META
        keyword = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
        setattr(ds, keyword, [item] if item is not None else [])
        for name, value in attrs.items():
            setattr(ds, name, value)
        class_uid = sop_class.BasicColorImageBox if color else sop_class.BasicGrayscaleImageBox
        return self.set(class_uid, uid, ds)

    def gray(
        self, uid: str, position: int, pixels: npt.NDArray[np.uint16], bits: int = 12, **attrs: Any
    ) -> Dataset:
        return self.set_image(uid, position, image_item(pixels, bits=bits), **attrs)

    def annotate(self, uid: str, position: int, text: str) -> Dataset:
        ds = Dataset()
        ds.AnnotationPosition = position
        ds.TextString = text
        return self.set(sop_class.BasicAnnotationBox, uid, ds, meta=False)

    def action(self, class_uid: str, uid: str, action: int = 1) -> tuple[Dataset, Any]:
        return self.assoc.send_n_action(
            None, action, class_uid, uid, meta_uid=self.meta, msg_id=self.msg()
        )

    def get(
        self, class_uid: str, uid: str, tags: Sequence[int] = (), meta: bool = True
    ) -> tuple[Dataset, Any]:
        return self.assoc.send_n_get(
            list(tags), class_uid, uid, meta_uid=self.meta if meta else None, msg_id=self.msg()
        )

    def delete(self, class_uid: str, uid: str, meta: bool = True) -> Dataset:
        return self.assoc.send_n_delete(
            class_uid, uid, meta_uid=self.meta if meta else None, msg_id=self.msg()
        )

    def flat_film(self, level: int, *, size: str = "8INX10IN", **session: Any) -> Dataset:
        """Session, one-box film of a flat 16x16 image at ``level``, N-ACTION: its status."""
        _, session_uid = self.session(**session)
        _, box, reply = self.film_box(session_uid, FilmSizeID=size)
        self.gray(box_uids(reply)[0], 1, np.full((16, 16), level, np.uint16))
        status, _ = self.action(sop_class.BasicFilmBox, box)
        return status

    def release(self) -> None:
        if self.assoc.is_established:
            self.assoc.release()


def box_uids(reply: Dataset | None, keyword: str = "ReferencedImageBoxSequence") -> list[str]:
    assert reply is not None and keyword in reply, f"{keyword} missing from {reply}"
    return [str(item.ReferencedSOPInstanceUID) for item in getattr(reply, keyword)]


def output_files(directory: Path, count: int, timeout: float = 30.0) -> list[Path]:
    """PostScript files a directory printer wrote, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    files: list[Path] = []
    while time.monotonic() < deadline:
        files = sorted(directory.glob("*.ps"), key=lambda p: p.stat().st_mtime)
        if len(files) >= count:
            return files
        time.sleep(0.1)
    raise TimeoutError(f"{directory} holds {len(files)} PostScript files, not {count}")
