"""What a file is, when it is not what crm import reads: named for the user, with what is supported
(issue 18: "files it cannot read say what they are"); and the export format version of a workbook."""

from __future__ import annotations

from pathlib import Path

from crmcli.i18n import N_, Text

SUPPORTED = Text(N_(
    "crm import reads .xlsx, .xlsm, .xls and .ods workbooks, .csv/.tsv text, the JSON document of crm export, "
    "and a directory of CSV files"
))

_MAGIC = (
    (b"%PDF-", Text(N_("a PDF document"))),
    (b"\x89PNG\r\n\x1a\n", Text(N_("a PNG image"))),
    (b"\xff\xd8\xff", Text(N_("a JPEG image"))),
    (b"GIF87a", Text(N_("a GIF image"))),
    (b"GIF89a", Text(N_("a GIF image"))),
    (b"\x1f\x8b", Text(N_("a gzip archive"))),
    (b"BZh", Text(N_("a bzip2 archive"))),
    (b"7z\xbc\xaf\x27\x1c", Text(N_("a 7-Zip archive"))),
    (b"Rar!\x1a\x07", Text(N_("a RAR archive"))),
    (b"SQLite format 3\x00", Text(N_("an SQLite database (crm restore reads a backup; crm db copy moves one)"))),
    (b"\x7fELF", Text(N_("a program (ELF executable)"))),
    (b"MZ", Text(N_("a Windows program"))),
    (b"{\\rtf", Text(N_("an RTF document"))),
)
_ZIPPED = (("word/", Text(N_("a Word document (.docx)"))), ("ppt/", Text(N_("a PowerPoint presentation (.pptx)"))), ("META-INF/manifest.xml", Text(N_("an OpenDocument file"))))


def what_else(head: bytes) -> Text | None:
    """What a file that is not a spreadsheet is, by its first bytes (None: it may be text)."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:100].lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return Text(N_("an HTML page (save the table from the browser or Excel as .xlsx or .csv)"))
    if text.startswith(b"<?xml"):
        return Text(N_("an XML file"))
    return None


def what_zip(path: Path) -> Text:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return Text(N_("a zip archive"))
    for prefix, what in _ZIPPED:
        if any(n.startswith(prefix) for n in names):
            return what
    return Text(N_("a zip archive"))


def check_workbook_version(path: Path) -> None:
    """A workbook written by a newer crm export (its keywords say ``crmcli-export N``) is refused."""
    import re
    import zipfile

    from crmcli import export_layout as t

    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("docProps/core.xml")
            if info.file_size > 1 << 20:
                return
            core = zf.read(info).decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return
    m = re.search(rf"<cp:keywords>\s*{t.EXPORT_FORMAT} (\d+)\s*</cp:keywords>", core)
    if m:
        refuse_newer(path.name, int(m.group(1)))


def refuse_newer(name: str, version: int) -> None:
    """An export of a newer format version than this crm reads is refused, naming both."""
    from crmcli import export_layout as t
    from crmcli.io.readers import ReadError

    if version > t.EXPORT_VERSION:
        raise ReadError(N_("{name} was written by a newer crm: export format version {value}, this crm reads version {export_version}; upgrade crm to import it"), name=name, value=version, export_version=t.EXPORT_VERSION)


def check_directory_version(path: Path) -> None:
    """A directory export's manifest (``export_layout.MANIFEST``) of a newer version is refused; a
    directory without one (CSV files put there by hand) is read as it is."""
    import json

    from crmcli import export_layout as t
    from crmcli.io.readers import ReadError

    file = path / t.MANIFEST
    if not file.is_file():
        return
    try:
        doc = json.loads(file.read_bytes()[: 1 << 20])
    except (ValueError, OSError):
        raise ReadError(N_("{name}: {file} is not a crm export manifest (not valid JSON)"), name=path.name, file=t.MANIFEST) from None
    version = doc.get("version") if isinstance(doc, dict) and doc.get("format") == t.EXPORT_FORMAT else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise ReadError(N_("{name}: {file} is not a crm export manifest (no format and version)"), name=path.name, file=t.MANIFEST)
    refuse_newer(f"{path.name}/", version)
