"""Printer (PS3.4 H.4.6) and Printer Configuration Retrieval (PS3.4 H.4.11) data sets.

Both are answered from the logical printer's configuration and, for status,
from the live destination (``model.printer``).  What a request asks for and
the printer does not keep is left out (lenient) or refused with 0x0105
(strict), never a reason to fail the whole N-GET on a lenient printer.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

import printserver
from printserver.model.errors import NoSuchAttribute
from printserver.model.printer import Printer, PrinterStatus
from printserver.model.sop_classes import SERVED, VERIFICATION

SUPPORTED_SOP_CLASSES = tuple(uid for uid in SERVED if uid != VERIFICATION)
MAX_COLLATED_FILMS = 99


def select(everything: Dataset, wanted: list[int], *, strict: bool) -> Dataset:
    """The requested attributes of an N-GET; an empty list asks for all (PS3.7 10.1.2)."""
    if not wanted:
        return everything
    known = {int(element.tag) for element in everything}
    missing = [tag for tag in wanted if tag not in known]
    if missing and strict:
        raise NoSuchAttribute(
            f"attribute ({missing[0] >> 16:04X},{missing[0] & 0xFFFF:04X}) "
            "is not kept by this printer"
        )
    reply = Dataset()
    for element in everything:
        if int(element.tag) in wanted:
            reply.add(element)
    return reply


def printer_dataset(printer: Printer, status: PrinterStatus) -> Dataset:
    """The Printer module (PS3.3 C.13.9), every attribute of the N-GET table."""
    ds = Dataset()
    ds.Manufacturer = printer.settings.manufacturer
    ds.ManufacturerModelName = printer.settings.model_name
    ds.DeviceSerialNumber = printer.settings.serial_number
    ds.SoftwareVersions = printserver.__version__
    calibrated = printer.settings.calibrated
    ds.DateOfLastCalibration = calibrated.strftime("%Y%m%d") if calibrated else ""
    ds.TimeOfLastCalibration = calibrated.strftime("%H%M%S") if calibrated else ""
    ds.PrinterStatus = status.status
    ds.PrinterStatusInfo = status.info
    ds.PrinterName = printer.name
    return ds


def _display_formats(printer: Printer) -> list[Dataset]:
    items: list[Dataset] = []
    for size_id in printer.settings.film_sizes:
        for orientation in ("PORTRAIT", "LANDSCAPE"):
            for resolution, dpi in printer.resolutions.items():
                item = Dataset()
                columns, rows = printer.page(size_id, orientation, dpi).printable_px
                item.Rows, item.Columns = rows, columns
                item.ImageDisplayFormat = "STANDARD\\1,1"
                item.FilmOrientation = orientation
                item.FilmSizeID = size_id
                item.PrinterResolutionID = resolution
                spacing = f"{25.4 / dpi:.6f}"
                item.PrinterPixelSpacing = [spacing, spacing]
                item.RequestedImageSizeFlag = "YES"
                items.append(item)
    return items


def _media(printer: Printer) -> list[Dataset]:
    items: list[Dataset] = []
    for medium in printer.settings.medium_types:
        for size_id in printer.settings.film_sizes:
            item = Dataset()
            item.ItemNumber = str(len(items) + 1)
            item.MediumType = medium
            item.FilmSizeID = size_id
            item.MinDensity = printer.settings.min_density
            item.MaxDensity = printer.settings.max_density
            items.append(item)
    return items


def colour_description(printer: Printer) -> str:
    """Which profiles and rendering intent this printer's colour films use (PS3.3 C.11.15)."""
    output = printer.colour
    if output.space == "GRAY":
        return "colour images print as their CIE L* lightness (grayscale printer)"
    return (
        f"colour: output profile {output.name} ({output.space}), "
        f"{output.intent.replace('_', ' ')} intent; an image's ICC Profile (0028,2000) "
        "is its source, sRGB without one"
    )


def configuration_dataset(printer: Printer) -> Dataset:
    """Printer Configuration Sequence (2000,001E): what this logical printer supports."""
    item = Dataset()
    item.SOPClassesSupported = list(SUPPORTED_SOP_CLASSES)
    item.MaximumMemoryAllocation = "0"
    item.MemoryBitDepth = 16
    item.PrintingBitDepth = printer.settings.bits
    item.MediaInstalledSequence = _media(printer)
    item.SupportedImageDisplayFormatsSequence = _display_formats(printer)
    item.DefaultPrinterResolutionID = "STANDARD"
    item.DefaultMagnificationType = printer.settings.default_magnification
    item.OtherMagnificationTypesAvailable = [
        m
        for m in printer.settings.magnification_types
        if m != printer.settings.default_magnification
    ] or ""
    item.DefaultSmoothingType = printer.settings.default_smoothing
    item.OtherSmoothingTypesAvailable = [
        s for s in printer.settings.smoothing_types if s != printer.settings.default_smoothing
    ] or ""
    item.ConfigurationInformationDescription = (
        "Accepted values: "
        + (", ".join(printer.settings.configuration_information) or "none")
        + "; "
        + colour_description(printer)
    )
    item.MaximumCollatedFilms = str(MAX_COLLATED_FILMS)
    item.DecimateCropResult = "DECIMATE"
    ds = Dataset()
    ds.PrinterConfigurationSequence = [item]
    return ds
