"""Excel import/export of a compound's registry (DESIGN.md "Files"): one sheet per model, Chinese
headers, all-or-nothing import through `services.save`."""

from .exporter import XLSX_CONTENT_TYPE, build_workbook, export_compound, to_bytes
from .importer import Counts, ImportResult, import_workbook
from .reader import Issue, UploadRejected

__all__ = [
    "XLSX_CONTENT_TYPE",
    "Counts",
    "ImportResult",
    "Issue",
    "UploadRejected",
    "build_workbook",
    "export_compound",
    "import_workbook",
    "to_bytes",
]
