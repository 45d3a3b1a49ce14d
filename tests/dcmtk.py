"""Drive DCMTK's print client (``dcmpsprt`` + ``dcmprscu``) as a real third-party peer."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


@dataclass
class DcmtkResult:
    log: str
    errors: list[str]


def write_ct_like_image(path: Path, rows: int, columns: int, *, level: int) -> Path:
    """A 12-bit MONOCHROME2 image: a flat ``level`` with a faint ramp, window 0..4095."""
    y, x = np.mgrid[0:rows, 0:columns]
    pixels = np.clip(level + (x + y) * 100 // (rows + columns), 0, 4095).astype("<u2")
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Test^Film", "TEST1", "OT"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


FULL_FEATURES = (
    "SupportsPresentationLUT = true\nPresentationLUTMatchRequired = false\n"
    "Annotation = 1\\LABEL\nSupportsImageSize = true\nSupportsDecimateCrop = true\n"
    "SupportsTrim = true\n"
)
"""Printer flags that make dcmprscu use every optional feature it has."""


def _config(
    workdir: Path, host: str, port: int, called_ae: str, twelve_bit: bool, features: str = ""
) -> Path:
    config = workdir / "print.cfg"
    config.write_text(
        "[[GENERAL]]\n[PRINT]\nDirectory = spool\nDetailedLog = true\n"
        "MinPrintResolution = 256\\256\nMaxPrintResolution = 8192\\8192\n"
        "DefaultIllumination = 2000\nDefaultReflection = 10\n"
        "[DATABASE]\nDirectory = database\n[LUT]\nDirectory = lut\n"
        "[APPLICATION]\nLogDirectory = log\nLogFile = general.log\nLogLevel = INFO\n"
        "[NETWORK]\naetitle = DCMPRSCU\n"
        "[[COMMUNICATION]]\n[TESTSCP]\nType = PRINTER\n"
        f"Aetitle = {called_ae}\nHostname = {host}\nPort = {port}\nMaxPDU = 32768\n"
        "Description = printserver under test\n"
        "DisplayFormat = 1,1\\1,2\\2,1\\2,2\\2,3\\3,3\\4,4\n"
        "FilmSizeID = 8INX10IN\\14INX17IN\\14INX14IN\n"
        "MagnificationType = REPLICATE\\BILINEAR\\CUBIC\n"
        f"Supports12Bit = {'true' if twelve_bit else 'false'}\n"
        + (
            features
            or "SupportsPresentationLUT = false\nSupportsImageSize = false\n"
            "SupportsDecimateCrop = false\nSupportsTrim = false\n"
        )
        + "BorderDensity = BLACK\\WHITE\nEmptyImageDensity = BLACK\\WHITE\n"
        "MaxDensity = 320\nMinDensity = 20\n"
    )
    for sub in ("database", "spool", "log", "lut"):
        (workdir / sub).mkdir(exist_ok=True)
    return config


def print_with_dcmtk(
    workdir: Path,
    images: Sequence[Path],
    host: str,
    port: int,
    called_ae: str,
    *,
    layout: tuple[int, int] = (2, 2),
    filmsize: str = "14INX17IN",
    twelve_bit: bool = True,
    features: str = "",
    prepare_args: Sequence[str] = (),
    send_args: Sequence[str] = (),
    edit_stored: Callable[[Path], None] | None = None,
) -> DcmtkResult:
    """Build a stored print with dcmpsprt and send it with dcmprscu; collect its log.

    ``features`` are printer flags of the DCMTK configuration; ``prepare_args``
    go to dcmpsprt, ``send_args`` to dcmprscu; ``edit_stored`` may change the
    Stored Print object in between (for what dcmpsprt has no option for).
    """
    config = _config(workdir, host, port, called_ae, twelve_bit, features)
    prepare = subprocess.run(
        [
            "dcmpsprt",
            "-c",
            str(config),
            "-p",
            "TESTSCP",
            "--layout",
            str(layout[0]),
            str(layout[1]),
            "--filmsize",
            filmsize,
            *prepare_args,
            *map(str, images),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = prepare.stdout + prepare.stderr
    stored = sorted((workdir / "database").glob("SP_*.dcm"))
    if prepare.returncode != 0 or not stored:
        return DcmtkResult(log, [f"dcmpsprt failed ({prepare.returncode})"])
    if edit_stored is not None:
        edit_stored(stored[0])
    send = subprocess.run(
        ["dcmprscu", "-c", str(config), "-p", "TESTSCP", "-v", "+d", *send_args, str(stored[0])],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log += send.stdout + send.stderr
    errors = [line for line in log.splitlines() if line.startswith(("E:", "F:"))]
    if send.returncode != 0:
        errors.append(f"dcmprscu exited {send.returncode}")
    return DcmtkResult(log, errors)


DCMPRSCP_MAX_PDU = 131072
"""dcmprscp's largest receive PDU (DCMTK's ASC_MAXIMUMPDUSIZE)."""
DCMPRSCP_SECTION = "IMAGER"
"""The printer section of :func:`dcmprscp_config`, for ``dcmprscp -p``."""


def dcmprscp_config(ae: str, port: int, max_pdu: int = DCMPRSCP_MAX_PDU) -> str:
    """A dcmprscp configuration: one printer with 12-bit support, storing what it gets as
    Stored Print and Hardcopy Grayscale objects in ``database/`` (dirs: database, spool, log)."""
    return f"""\
[[GENERAL]]
[APPLICATION]
LogDirectory = log
LogFile = general.log
LogLevel = WARN
[PRINT]
Directory = spool
DetailedLog = false
BinaryLog = false
DeletePrintJobs = true
AlwaysDeleteTerminateJobs = true
[DATABASE]
Directory = database
[[COMMUNICATION]]
[{DCMPRSCP_SECTION}]
Type = LOCALPRINTER
Description = dcmprscp
Aetitle = {ae}
Hostname = localhost
Port = {port}
MaxPDU = {max_pdu}
ImplicitOnly = false
DisableNewVRs = false
DisplayFormat = 1,1\\1,2\\2,2\\2,3\\3,3\\3,4\\4,4\\4,5
FilmSizeID = 8INX10IN\\10INX12IN\\11INX14IN\\14INX14IN\\14INX17IN
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
MediumType = PAPER\\CLEAR FILM\\BLUE FILM
FilmDestination = MAGAZINE\\PROCESSOR
BorderDensity = BLACK\\WHITE
EmptyImageDensity = BLACK\\WHITE
MaxDensity = 320
MinDensity = 20
Supports12Bit = true
SupportsPresentationLUT = false
SupportsImageSize = false
SupportsDecimateCrop = false
SupportsTrim = false
"""


def in_network_namespace(argv: Sequence[str]) -> list[str]:
    """``argv`` run in a network namespace of its own with loopback up (``unshare -n``):
    dcmprscp binds every interface, and must see none but that loopback."""
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *argv]
