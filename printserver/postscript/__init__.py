"""PostScript Level 3 as this server writes it (``writer.py``) and reads it back
(``reader.py``)."""

from printserver.postscript.reader import NotOurPostScript, read_pages
from printserver.postscript.writer import PageSpec, dsc_text, write_postscript

__all__ = ["NotOurPostScript", "PageSpec", "dsc_text", "read_pages", "write_postscript"]
