"""SOP Class and well-known SOP Instance UIDs of the Print Management Service Class (PS3.4 H)."""

from __future__ import annotations

VERIFICATION = "1.2.840.10008.1.1"
FILM_SESSION = "1.2.840.10008.5.1.1.1"
FILM_BOX = "1.2.840.10008.5.1.1.2"
GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
GRAYSCALE_PRINT_META = "1.2.840.10008.5.1.1.9"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
