"""The DICOM Conformance Statement (PS3.2), generated from the code that enforces it.

Every table here is read from the objects the server itself uses — accepted
presentation contexts, attribute sets, status tables, printer defaults — so
``docs/conformance.md`` cannot drift from the behaviour: a test regenerates it
and compares.  Run ``printserver conformance -o docs/conformance.md`` after a
change.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable

from pydicom.datadict import dictionary_VR

import printserver
from printserver.config import (
    MEDIUM_TYPES,
    LimitsConfig,
    PrinterConfig,
    ServerConfig,
    load_config,
)
from printserver.config.film_size import FILM_SIZES
from printserver.config.printer import RenderingIntent
from printserver.model.film_box import ORIENTATIONS
from printserver.model.film_session import PRIORITIES
from printserver.model.image_box import DECIMATE_CROP, POLARITIES
from printserver.model.presentation_lut import STRICT_ENTRIES
from printserver.model.printer import REASON_TERMS, Printer
from printserver.model.sop_classes import NAMES
from printserver.net import status
from printserver.net.acceptance import MIN_PEER_PDU
from printserver.net.message_limits import MAX_COMMAND_SET, MAX_OTHER_DATA_SET
from printserver.net.print_job import EXECUTION_STATUS
from printserver.net.scp import ACCEPTED_SOP_CLASSES, TRANSFER_SYNTAXES
from printserver.order import attributes
from printserver.order.encoded import MAX_ELEMENTS
from printserver.order.received import MAX_ATTRIBUTE_BYTES
from printserver.order.vr_strings import RULES
from printserver.render.sheet import PRESENTATION_LUT_SHAPES


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _keywords(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def _sop_classes() -> list[str]:
    syntaxes = ", ".join(f"{ts.name} ({ts})" for ts in TRANSFER_SYNTAXES)
    lines = [
        "## 2. Network: SOP classes and transfer syntaxes",
        "",
        "Every abstract syntax below is accepted as its own presentation context, "
        "SCP role only, with these transfer syntaxes: " + syntaxes + ". "
        "Any other abstract syntax (including the retired print classes such as "
        "Print Queue Management) is rejected; the rest of the association proceeds.",
        "",
    ]
    lines += _table(
        ("SOP class", "UID", "Role"), ((NAMES[uid], uid, "SCP") for uid in ACCEPTED_SOP_CLASSES)
    )
    return lines


def _attributes() -> list[str]:
    lines = [
        "## 4. Attributes supported per SOP class",
        "",
        "Attributes outside these lists are ignored by a lenient printer and refused "
        "with 0x0105 by a strict one (`strict = true`).",
        "",
    ]
    rows = (
        ("Basic Film Session N-CREATE / N-SET", attributes.FILM_SESSION_KEYWORDS),
        ("Basic Film Box N-CREATE / N-SET", attributes.FILM_BOX_KEYWORDS),
        ("Basic Grayscale Image Box N-SET", attributes.GRAYSCALE_IMAGE_BOX_KEYWORDS),
        ("Basic Color Image Box N-SET", attributes.COLOR_IMAGE_BOX_KEYWORDS),
        ("Basic Annotation Box N-SET", attributes.ANNOTATION_BOX_KEYWORDS),
        ("Presentation LUT N-CREATE", attributes.PRESENTATION_LUT_KEYWORDS),
    )
    lines += _table(("Request", "Attributes"), ((name, _keywords(kw)) for name, kw in rows))
    return lines + _strings([kw for _, keywords in rows for kw in keywords])


def _strings(keywords: list[str]) -> list[str]:
    """How string values are held to their VR (PS3.5 Table 6.2-1), per VR."""
    unread = ("SOPClassUID", "SOPInstanceUID", "SpecificCharacterSet")  # not read as values
    read = {kw for kw in keywords if kw not in unread} | {"PhotometricInterpretation"}
    by_vr: dict[str, set[str]] = {vr: set() for vr in RULES}
    for keyword in read:
        vr = dictionary_VR(keyword)
        if vr in by_vr:
            by_vr[vr].add(keyword)
    by_vr["UI"].add("ReferencedSOPInstanceUID (of every reference sequence)")
    lines = [
        "### Strings and their Value Representations",
        "",
        "Every string read from a request is held to the VR of its attribute in the "
        "data dictionary (PS3.5 Table 6.2-1), whatever VR an explicit VR peer sends. "
        "Padding (spaces, NULs) is not part of a value; code strings are upper-cased. "
        "An ESC still present after decoding by Specific Character Set is not a code "
        "extension and counts as a control character.  A strict printer answers 0x0106 "
        "with an Error Comment naming the attribute and the rule.  A lenient printer "
        "cleans text meant for people — every control character becomes a space, "
        "several values are joined again with backslashes, the text is cut to the "
        "maximum length — and answers 0x0116; a code string outside its repertoire is "
        "an unsupported value (default and 0x0116); a UID that is not printable ASCII "
        "of at most 64 characters is refused (0x0106) by both.",
        "",
    ]
    lines += _table(
        ("VR", "Maximum", "Allowed", "Lenient", "Attributes"),
        (
            (vr, rule.max_length, rule.repertoire, rule.lenient, ", ".join(sorted(by_vr[vr])))
            for vr, rule in RULES.items()
            if by_vr[vr]
        ),
    )
    return lines


def _values(printer: PrinterConfig) -> list[str]:
    lines = [
        "## 5. Value sets and defaults (built-in printer defaults)",
        "",
        "A lenient printer replaces an unsupported value by its default and answers "
        "0x0116; a strict one answers 0x0106.  Min/Max Density outside the printer's "
        'range are clamped with B605; 0 means "use the default".  Every value can be '
        "changed per printer in the configuration file.",
        "",
    ]
    rows = [
        ("Number of Copies", f"1..{LimitsConfig().max_copies} (`max_copies`)", "1"),
        ("Print Priority", ", ".join(PRIORITIES), "MED"),
        ("Medium Type", ", ".join(MEDIUM_TYPES), printer.default_medium),
        ("Film Destination", ", ".join(printer.film_destinations), printer.default_destination),
        ("Film Orientation", ", ".join(ORIENTATIONS), printer.default_orientation),
        ("Film Size ID", ", ".join(printer.film_sizes), printer.default_film_size),
        (
            "Magnification Type",
            ", ".join(printer.magnification_types),
            printer.default_magnification,
        ),
        ("Smoothing Type", ", ".join(printer.smoothing_types), printer.default_smoothing),
        (
            "Border / Empty Image Density",
            "BLACK, WHITE, or hundredths of OD",
            f"{printer.border_density} / {printer.empty_image_density}",
        ),
        (
            "Min / Max Density",
            f"{printer.min_density}..{printer.max_density}",
            f"{printer.min_density} / {printer.max_density}",
        ),
        ("Trim", "YES, NO", "NO"),
        (
            "Requested Resolution ID",
            "STANDARD (and HIGH when `high_dpi` is set)",
            f"STANDARD = {printer.dpi} dpi",
        ),
        (
            "Illumination / Reflected Ambient Light",
            "cd/m²",
            f"{printer.illumination} / {printer.reflected_ambient_light}",
        ),
        ("Configuration Information", "values listed in `configuration_information`", "(empty)"),
        ("Polarity", ", ".join(POLARITIES), "NORMAL"),
        (
            "Requested Decimate/Crop Behavior",
            ", ".join(DECIMATE_CROP),
            "(none: demagnify to fit, B604)",
        ),
        ("Requested Image Size", "0 < mm ≤ 1000", "(none: fill the box)"),
        (
            "ICC Profile (0028,2000) of a Basic Color Image Sequence item",
            "an RGB ICC profile LittleCMS parses (else 0x0106)",
            "(none: sRGB)",
        ),
        (
            "Rendering intent (printer `rendering_intent`)",
            ", ".join(typing.get_args(RenderingIntent)),
            printer.rendering_intent,
        ),
        ("Presentation LUT Shape", ", ".join(PRESENTATION_LUT_SHAPES), "(none: IDENTITY)"),
        (
            "Presentation LUT Sequence",
            "first value mapped 0, 8..16 bits; entries "
            f"{' or '.join(map(str, STRICT_ENTRIES))} (strict), any (lenient, interpolated)",
            "",
        ),
    ]
    lines += _table(("Attribute", "Supported values", "Default"), rows)
    lines += ["Film sizes (portrait width × height in mm; `17INX17IN` is an extension):", ""]
    pages = Printer.of(printer)  # its page geometry: once, not once per film size
    lines += _table(
        ("Film Size ID", "Size (mm)", f"Printable pixels at {printer.dpi} dpi"),
        (
            (
                name,
                f"{size.width_mm:g} × {size.height_mm:g}",
                "{} × {}".format(*pages.page(name, "PORTRAIT").printable_px),
            )
            for name, size in FILM_SIZES.items()
        ),
    )
    lines += [
        "Image Display Formats: `STANDARD\\C,R`, `ROW\\R1,R2,…`, `COL\\C1,C2,…` "
        f"(at most {printer.max_image_boxes} boxes; positions numbered as PS3.3 "
        "C.13.5.1: row by row, COL column by column); `SLIDE` and `SUPERSLIDE` (36 × 24 "
        "mm and 40 × 40 mm frames on a 50 mm pitch, as many as the printable area "
        "holds, row by row); and these `CUSTOM\\i` layouts (boxes as fractions of the "
        "printable area, origin top left, in position order):",
        "",
    ]
    lines += _table(
        ("Format", "Description", "Boxes (x, y, width, height)"),
        (
            (
                f"CUSTOM\\{number}",
                layout.description,
                "; ".join(
                    f"{b.x:.3g}, {b.y:.3g}, {b.width:.3g}, {b.height:.3g}" for b in layout.boxes
                ),
            )
            for number, layout in sorted(printer.custom_layouts.items())
        ),
    )
    lines += [
        "Smoothing Type (with Magnification CUBIC): `NONE` Catmull-Rom cubic, `SHARP` "
        "cubic with a = -0.75, `SMOOTH` Mitchell-Netravali (B = C = 1/3). REPLICATE is "
        "nearest neighbour, BILINEAR linear; NONE prints one image pixel per printer "
        "pixel. Shrinking widens the kernel (no aliasing). The weights are fixed-point "
        "numbers (steps of 2^-17) and every sum is exact, so a film's pixels do not "
        "depend on the machine, the thread count or how the page is cut into bands.",
        "",
    ]
    lines += [
        "Annotation Display Format IDs (boxes as fractions of a band taken off the "
        "printable area):",
        "",
    ]
    lines += _table(
        ("ID", "Band", "Boxes (x, width, alignment)"),
        (
            (
                name,
                f"{layout.band}, {layout.band_mm:g} mm, text {layout.text_mm:g} mm",
                "; ".join(f"{b.x:.2f}, {b.width:.2f}, {b.align}" for b in layout.boxes),
            )
            for name, layout in printer.annotation_formats.items()
        ),
    )
    return lines


def _density(printer: PrinterConfig) -> list[str]:
    return [
        "## 8. Density and colour",
        "",
        "Grayscale images: stored values are inverted when MONOCHROME1 xor Polarity "
        "REVERSE, pass the Presentation LUT at 12 bits or more, and become optical "
        "densities by the Grayscale Standard Display Function for hardcopy (PS3.14): "
        "P-values are spaced evenly in JND index between the film's Max and Min "
        "Density as seen at Illumination L0 with Reflected Ambient Light La (PAPER is "
        "viewed by reflection: La = 0, L0 = `paper_illumination`, default 150 cd/m²). "
        "Without a Presentation LUT the pixel values are taken as P-values (IDENTITY). "
        "LIN OD makes density linear in the value: with the default reading the lowest "
        "value (after polarity) prints at Max Density, which keeps the image's "
        'appearance; `lin_od = "dcmtk"` reads density as growing with the stored '
        "value instead, as DCMTK does.",
        "",
        "Densities become drive values through the printer's characteristic curve "
        "(measured with `printserver calibrate`), or a curve linear in density between "
        "the printer's Max and Min Density when none is configured. The only "
        "quantisation is the final rounding to 12 bits (or 8 on printers set to 8). "
        "Border and Empty Image Density: BLACK is the printer's densest, WHITE its "
        "lightest, a number that density.",
        "",
        "Colour images (RGB, 8 bits) are colour managed with LittleCMS (PS3.3 C.11.15). "
        "The source profile is the ICC Profile (0028,2000) of the Basic Color Image "
        "Sequence item; without one the image is taken as sRGB. The destination is the "
        "printer's output profile (`icc_profile`, RGB or CMYK; without one sRGB, and an "
        "sRGB image is then printed as sent) with its rendering intent (`rendering_intent`: "
        "perceptual by default, or relative colorimetric). Each image is transformed once, "
        "at 8 bits, before it is resampled; Polarity REVERSE inverts the RGB values first. "
        "An RGB output profile gives PostScript DeviceRGB, a CMYK one DeviceCMYK; borders, "
        "empty boxes, trim and annotation text are neutrals of the device (black ink alone "
        "on CMYK). On a grayscale printer (`color = false`) a colour image prints as its "
        "CIE L* lightness through its profile, used as P-values of the density model above "
        "(L* is perceptually uniform, as P-values are). An ICC Profile LittleCMS cannot "
        "parse, or one that is not RGB, is refused at N-SET with 0x0106 and an Error Comment "
        "naming it, so it can never make a film fail later. The built-in printer: "
        f"{Printer.of(printer).colour.name} output, {printer.rendering_intent} intent.",
        "",
    ]


def _resource_limits(printer: PrinterConfig) -> list[str]:
    """What one peer may make the server hold or render, each checked before it is spent."""
    limits = LimitsConfig()
    lines = [
        "## 9. Resource limits",
        "",
        "Each limit is checked before the server allocates or renders what a request "
        "asks for.  `[limits]` holds the server-wide ones, `[[printers]]` the per-printer "
        "ones; defaults shown.  An admitted image's data set is written, as received (in "
        "the presentation context's transfer syntax), to the association's directory in "
        "the spool at N-SET; the print model reads the pixels from that file, the job "
        "that prints them links it, and release or abort removes what no job took.  "
        "An association holds no image in memory between requests; when the spool "
        "disk is below `min_free_mb`, an image N-SET is refused with 0xC605.",
        "",
    ]
    rows = [
        (
            "`max_image_boxes` (printer)",
            printer.max_image_boxes,
            "Film Box N-CREATE: counted from the Image Display Format (at most 1024 "
            "characters, numbers of at most 9 digits) before any box is made",
            "0x0106",
        ),
        (
            "`max_image_pixels` (printer)",
            printer.max_image_pixels,
            "Image Box N-SET: Rows × Columns",
            "0xC605",
        ),
        (
            "`max_image_bytes`",
            limits.max_image_bytes,
            "Image Box N-SET: Rows × Columns × Samples per Pixel × Bits Allocated / 8, "
            "before the pixels are read",
            "0xC605",
        ),
        (
            "`max_association_image_bytes`",
            limits.max_association_image_bytes,
            "Image Box N-SET: the images of every box of the session at once; the image a "
            "box replaces no longer counts",
            "0xC605",
        ),
        (
            "`max_film_boxes_per_session`",
            limits.max_film_boxes_per_session,
            "Film Box N-CREATE beyond the limit",
            "0x0213",
        ),
        (
            "`max_pages_per_job`",
            limits.max_pages_per_job,
            "Film Session N-ACTION of more films, before any is rendered",
            "0x0213",
        ),
        (
            "`max_jobs_per_association`",
            limits.max_jobs_per_association,
            "N-ACTION beyond it on one association: an answered N-ACTION costs no rendering "
            "time, so the number of films one peer may queue is bounded here",
            "0xC601 / 0xC602",
        ),
        (
            "`max_copies`",
            limits.max_copies,
            "Number of Copies above it: a lenient printer prints the limit, a strict one refuses",
            "0x0116 / 0x0106",
        ),
        (
            "Pixel Data length",
            "the image",
            "Image Box N-SET: bytes beyond Rows × Columns × Samples × Bits Allocated / 8 (one "
            "padding byte to an even length excepted): a lenient printer drops them before "
            "anything keeps them and prints the image, a strict one refuses",
            "0x0116 / 0x0106",
        ),
    ]
    return lines + _table(("Limit", "Default", "Checked", "Status"), rows)


def _statuses() -> list[str]:
    lines = [
        "## 6. Status codes returned",
        "",
        "Every failure carries an Error Comment (0000,0902) saying what was wrong.",
        "",
    ]
    lines += _table(
        ("Failure", "Meaning here"),
        ((f"0x{code:04X}", text) for code, text in sorted(status.FAILURES.items())),
    )
    lines += _table(
        ("Warning", "Meaning here"),
        ((f"0x{code:04X}", text) for code, text in sorted(status.warnings().items())),
    )
    return lines


def _printer_status() -> list[str]:
    lines = [
        "## 7. Printer and Print Job status",
        "",
        "Printer Status is derived from the destination of the logical printer at the "
        "moment of the N-GET.  Films are always kept by the spool, so destination "
        "trouble is reported as WARNING; FAILURE is reserved for a print queue that "
        "cannot take films.  The destination is asked for at most 3 seconds: a CUPS "
        "host that accepts connections and does not answer is reported PRINTER DOWN "
        "then, and the N-GET is answered; other printers are not held up by it.",
        "",
    ]
    terms = [
        ("CUPS queue idle or printing", "NORMAL", "NORMAL"),
        ("CUPS unreachable, or no answer within 3 s", "WARNING", "PRINTER DOWN"),
        ("queue stopped with no known reason", "WARNING", "CHECK PRINTER"),
        ("queue not accepting jobs", "WARNING", "PRINTER OFFLINE"),
    ]
    terms += [
        (f"printer-state-reasons `{reason}`", "WARNING", term) for reason, term in REASON_TERMS
    ]
    lines += _table(("Destination", "Printer Status", "Printer Status Info"), terms)
    lines += [
        "Print Job Execution Status follows the spool job (`rendering`: the film order "
        "is spooled and its film is being made):",
        "",
    ]
    lines += _table(
        ("Spool state", "Execution Status", "N-EVENT-REPORT Event Type ID"),
        ((state.value, name, event) for state, (name, event) in EXECUTION_STATUS.items()),
    )
    return lines


STATIC_INTRO = """\
# DICOM Conformance Statement — printserver {version}

This document is generated by `printserver conformance` from the code that
enforces it; a test regenerates it and compares, so it describes what the
server does.

## 1. Overview

printserver is a Print Management SCP (PS3.4 Annex H).  It accepts Basic
Grayscale and Basic Color Print Management, Presentation LUT, Basic Annotation
Box, Print Job, Printer and Printer Configuration Retrieval, renders each film
at the printer's resolution with 12-bit grayscale precision, writes PostScript
Level 3 and keeps every film on a crash-safe spool that feeds CUPS.
"""

STATIC_POLICIES = """\
## 3. Association policies

* One AE listens on one TCP port; each **called AE title** selects a logical
  printer (the server's own title selects the first).  An unknown called AE
  title is rejected (A-ASSOCIATE-RJ 1/1/7).
* Calling AE titles can be restricted per server and per printer
  (`allowed_calling_aes`); others are rejected (1/1/3).
* Up to `max_associations` (default 10) associations at once, each served by
  its own thread.  A slot is taken only by a complete A-ASSOCIATE-RQ: a TCP
  connection that has not yet sent one holds no slot (see *Network limits*).
* **DICOM TLS**: the Basic TLS Secure Transport Connection Profile on a
  second port when `[server.tls]` names a certificate and key; TLS 1.2 or
  later; client certificates are verified when `require_client_certificate`.
* One Film Session per association; release or abort deletes it with
  everything under it (spooled jobs are independent copies).
* Film Session N-ACTION prints every film box of the session in creation
  order as one collated job; Film Box N-ACTION prints one film.  C616 is never
  returned.  Memory Allocation is not supported (B600).
* N-ACTION checks everything that can be refused (film box geometry, image
  fit, films per job, spool space), then writes the **film order** (the
  objects the client sent, as received) durably to the spool and answers:
  success means the film survives a crash or power loss of the server.  The
  film is rendered afterwards by a pool of `render_workers` threads, so the
  answer does not wait for the renderer.  A stored order that cannot be
  rendered makes the Print Job FAILURE (INVALID PAGE DES), never a lost film.
* Requests without a Requested SOP Instance UID (which pynetdicom would drop
  unanswered) are answered: N-ACTION prints the current film box or session
  (lenient) or is refused with 0x0112 (strict).
* Print Job N-EVENT-REPORT is sent to every association that negotiated the
  Print Job SOP Class, on its own as the job changes: PRINTING, then DONE when
  the film is out or FAILURE (failed, not renderable, or canceled by an
  operator), on the Print Job instance of the N-ACTION reply.  PENDING is not
  sent.  No event is sent before the N-ACTION response or between a request and
  its response.  An event not answered within the DIMSE timeout aborts the
  association.  Per printer, `print_job_events = "with_next_request"` sends
  events only inside the handler of the next request, and `"off"` none.
  Printer status N-EVENT-REPORT is off unless `send_events = true`.
* Colour films are printed as DeviceRGB (DeviceCMYK with a CMYK output
  profile), 8 bits per component, colour managed (section 8); Planar
  Configuration 0 and 1 are both accepted (missing means 1).
* Presentation LUTs may be referenced from the Film Session (pre-CP-173
  clients), Film Box and Grayscale Image Box; the image box reference wins.
  A LUT still referenced cannot be deleted (0x0110).  LIN OD is carried to
  the density model.
* Character sets: Film Session Label and annotation Text String are read as
  pydicom decodes them (the default repertoire, or the data set's Specific
  Character Set when it sends one); annotation text is drawn with a Unicode
  font.  Client text never becomes PostScript program text: the label is the
  document's `%%Title` comment only, as escaped printable ASCII on its own
  line, and annotations are drawn into the film's pixels.
"""


NETWORK_LIMITS = (
    "max_pdu_size",
    "max_associate_pdu_size",
    "acse_timeout",
    "socket_timeout",
    "network_timeout",
    "dimse_timeout",
    "tls_handshake_timeout",
    "max_associations",
    "max_pending_connections",
    "max_pending_per_address",
)


def _network_limits() -> list[str]:
    """The upper-layer limits (PS3.8) with their defaults, read from the settings model."""
    fields = ServerConfig.model_fields
    rows = [
        (f"`{name}`", fields[name].default, fields[name].description or "")
        for name in NETWORK_LIMITS
    ]
    lines = [
        "### Network limits",
        "",
        "The Maximum Length we advertise in the A-ASSOCIATE-AC is `max_pdu_size`; a "
        "P-DATA-TF longer than that, an A-ASSOCIATE-RQ longer than "
        "`max_associate_pdu_size` or a PDU of unknown type is answered with A-ABORT "
        "after its 6-byte header, without reading the rest.  An A-ASSOCIATE-RQ whose AE "
        "title fields are not of the default repertoire, or that does not decode, is "
        "answered with A-ABORT before an association exists; one proposing a Maximum "
        f"Length below {MIN_PEER_PDU} is rejected (1/1/1).  A command set over "
        f"{MAX_COMMAND_SET >> 10} KiB is answered with A-ABORT.  The data set of an "
        "N-SET larger than one image plus 1 MiB (`[limits] max_image_bytes`), or of "
        f"any other request larger than {MAX_OTHER_DATA_SET >> 20} MiB, is discarded as "
        "it arrives and the request is answered 0xC605 (image boxes) or 0x0213; so is "
        f"an N-SET with over {MAX_ELEMENTS} elements or over "
        f"{MAX_ATTRIBUTE_BYTES >> 10} KiB besides its pixels.  A request naming a SOP "
        "class this SCP does not serve is answered 0x0118.",
        "",
    ]
    return lines + _table(("Setting `[server]`", "Default", "Meaning"), rows)


def _print_scu() -> list[str]:
    """The other role: a printer with a ``[dicom]`` table sends its films on (net/imager.py)."""
    from printserver.net import imager

    syntaxes = ", ".join(f"{ts.name} ({ts})" for ts in imager.SYNTAXES)
    transient = ", ".join(f"0x{code:04X}" for code in sorted(imager.TRANSIENT))
    return [
        "## 10. As a Print SCU: DICOM printers",
        "",
        "A printer configured with `[printers.dicom]` is a film imager that is a print SCP "
        "itself; the server is then its Print SCU (SCU role only).  Each film is sent on "
        'one association, as the modality sent it (`mode = "as_sent"`, the default): the '
        "presentation contexts proposed are those the modality's requests came on (Basic "
        "Grayscale or Basic Color Print Management Meta, Presentation LUT, Basic Annotation "
        "Box) and always Basic Grayscale Print Management Meta (for the Printer N-GET that "
        'reads the imager\'s status); or as we composed it (`mode = "composed"`): Basic '
        "Grayscale Print Management Meta, or Basic Color Print Management Meta for a colour "
        "film, alone.  Each context is proposed with " + syntaxes + ".",
        "",
        "* The requests are the modality's own N-CREATE and N-SET data sets as received "
        "(images at their own bit depth); the imager's image and annotation box UIDs stand "
        "in for ours by position; then the N-ACTION of the film box or session, and "
        "N-DELETE of the film session.",
        "* Success and warnings (0x0000, 0x0001, 0x0107, 0x0116, 0xBxxx) count as printed. "
        f"Refusals {transient} are retried with backoff; any other refusal fails the job "
        "with the imager's status and Error Comment.",
        "* An N-ACTION whose answer does not come within the printer's `timeout`, or one "
        "under way when the server stopped, holds the job as *may have printed*: it is "
        "never sent twice by itself.",
        "* Print Job (1.2.840.10008.5.1.1.14) is proposed too: when the N-ACTION reply "
        "references a Print Job, the job is followed by N-GET of its Execution Status and "
        "Execution Status Info until DONE or FAILURE, and ends as the imager's did.",
        "* The imager's Printer Status and Printer Status Info become the printer's own, "
        "as modalities see them by N-GET and N-EVENT-REPORT.",
        "* Composed: the modality's film session, then per film a film box in "
        "`STANDARD\\1,1` with the modality's attributes but for the display format, "
        "the annotation format and the Presentation LUT (none: IDENTITY), an image box N-SET "
        "of our page in P-values (Basic Grayscale Image: 16 bits allocated, 12 stored, "
        "MONOCHROME2; Basic Color Image: 8-bit RGB, interleaved), and the film box's N-ACTION; "
        "then N-DELETE of the session.",
        "",
    ]


def conformance_statement(printer: PrinterConfig | None = None) -> str:
    """The whole statement as Markdown, for the built-in printer defaults."""
    printer = printer or load_config(None).printers[0]
    lines = [STATIC_INTRO.format(version=printserver.__version__)]
    lines += _sop_classes()
    lines += [STATIC_POLICIES]
    lines += _network_limits()
    lines += _attributes() + _values(printer) + _statuses() + _printer_status()
    lines += _density(printer)
    lines += _resource_limits(printer)
    lines += _print_scu()
    return "\n".join(lines).rstrip() + "\n"
