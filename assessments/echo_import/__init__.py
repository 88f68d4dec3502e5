"""Echo reports from the echo cart: a DICOM Structured Report (TID 5200 / TID 5300) read
into a partial assessment input that pre-fills the form (issue 17, CONTRACT section 6).

``services.echo_import`` is the one entry point; ``codes`` holds the code table derived
from the interop code list; ``sr`` reads the file from memory and walks its tree.
"""
