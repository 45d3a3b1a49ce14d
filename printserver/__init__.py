"""DICOM Print Management SCP: film sessions in, PostScript Level 3 film pages out."""

__version__ = "0.1.0"
