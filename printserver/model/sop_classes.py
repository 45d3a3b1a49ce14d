"""SOP Class and well-known SOP Instance UIDs of the Print Management Service Class (PS3.4 H)."""

from __future__ import annotations

VERIFICATION = "1.2.840.10008.1.1"
FILM_SESSION = "1.2.840.10008.5.1.1.1"
FILM_BOX = "1.2.840.10008.5.1.1.2"
GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
COLOR_IMAGE_BOX = "1.2.840.10008.5.1.1.4.1"
GRAYSCALE_PRINT_META = "1.2.840.10008.5.1.1.9"
PRINT_JOB = "1.2.840.10008.5.1.1.14"
ANNOTATION_BOX = "1.2.840.10008.5.1.1.15"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
PRINTER_CONFIGURATION = "1.2.840.10008.5.1.1.16.376"
PRINTER_CONFIGURATION_INSTANCE = "1.2.840.10008.5.1.1.17.376"
COLOR_PRINT_META = "1.2.840.10008.5.1.1.18"
PRESENTATION_LUT = "1.2.840.10008.5.1.1.23"

SERVED = (
    VERIFICATION,
    GRAYSCALE_PRINT_META,
    COLOR_PRINT_META,
    PRESENTATION_LUT,
    ANNOTATION_BOX,
    PRINT_JOB,
    PRINTER,  # also alone, for status-only associations (PS3.4 H.3)
    PRINTER_CONFIGURATION,
)
"""Every abstract syntax the SCP accepts, each as its own presentation context (PS3.4 H.3)."""

NAMES = {
    VERIFICATION: "Verification",
    GRAYSCALE_PRINT_META: "Basic Grayscale Print Management Meta",
    COLOR_PRINT_META: "Basic Color Print Management Meta",
    FILM_SESSION: "Basic Film Session",
    FILM_BOX: "Basic Film Box",
    GRAYSCALE_IMAGE_BOX: "Basic Grayscale Image Box",
    COLOR_IMAGE_BOX: "Basic Color Image Box",
    PRESENTATION_LUT: "Presentation LUT",
    ANNOTATION_BOX: "Basic Annotation Box",
    PRINT_JOB: "Print Job",
    PRINTER: "Printer",
    PRINTER_CONFIGURATION: "Printer Configuration Retrieval",
}
