"""Which kind of file the bytes are, judged from the content alone (never the name or the browser's word).

Accepted: PDF; JPEG, PNG, GIF, WebP, TIFF and HEIC images (phone photos, scans); Word, Excel and PowerPoint files
(.docx .xlsx .pptx, without macros) and OpenDocument ones. Refused: programs and scripts, Office 97–2003 files (a
compound file may hide macros or be an installer), macro-enabled Office files, and anything else (HTML and SVG
included: they would run script if a browser ever rendered them).
"""
import io
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _, lazy_gettext as _l

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PROGRAMS = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
            b"\xca\xfe\xba\xbe", b"#!", b"dex\n")
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
CONTENT_TYPES_MAX = 1024 * 1024  # [Content_Types].xml is a few KB; a bigger one is not read


@dataclass(frozen=True)
class Kind:
    name: str
    mimetype: str
    extensions: tuple[str, ...]
    label: object  # lazy: what the user reads

    @property
    def extension(self) -> str:
        return self.extensions[0]


KINDS = {kind.name: kind for kind in (
    Kind("pdf", "application/pdf", (".pdf",), _l("PDF document")),
    Kind("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe"), _l("JPEG image")),
    Kind("png", "image/png", (".png",), _l("PNG image")),
    Kind("gif", "image/gif", (".gif",), _l("GIF image")),
    Kind("webp", "image/webp", (".webp",), _l("WebP image")),
    Kind("tiff", "image/tiff", (".tif", ".tiff"), _l("TIFF image")),
    Kind("heic", "image/heic", (".heic", ".heif"), _l("HEIC image")),
    Kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",),
         _l("Word document")),
    Kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",),
         _l("Excel workbook")),
    Kind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",),
         _l("PowerPoint presentation")),
    Kind("odt", "application/vnd.oasis.opendocument.text", (".odt",), _l("OpenDocument text")),
    Kind("ods", "application/vnd.oasis.opendocument.spreadsheet", (".ods",), _l("OpenDocument spreadsheet")),
    Kind("odp", "application/vnd.oasis.opendocument.presentation", (".odp",), _l("OpenDocument presentation")),
)}
OOXML_PARTS = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
ODF_TYPES = {KINDS[name].mimetype.encode(): name for name in ("odt", "ods", "odp")}
ACCEPTED = ", ".join(sorted({ext for kind in KINDS.values() for ext in kind.extensions}))


class FileRefused(Exception):
    """Why a file cannot be attached, in the user's language; nothing was stored."""


def size_text(n: int) -> str:
    """1.2 MB, 35 KB: a size as people read it."""
    return f"{n / 1024 / 1024:.1f}\u00a0MB" if n >= 1024 * 1024 else f"{max(1, (n + 1023) // 1024)}\u00a0KB"


def check(data: bytes, max_bytes: int) -> Kind:
    """The kind of an acceptable file; FileRefused for an empty, too big, unknown or dangerous one."""
    if not data:
        raise FileRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise FileRefused(_("The file is %(size)s; files up to %(max)s can be attached.",
                            size=size_text(len(data)), max=size_text(max_bytes)))
    if data.startswith(PROGRAMS):
        raise FileRefused(_("This file is a program or a script; programs cannot be attached."))
    if data.startswith(OLE2):
        raise FileRefused(_("This is an old Office 97–2003 file (.doc, .xls, .ppt), which may hide macros. Save it "
                            "as .docx, .xlsx, .pptx or PDF and attach that."))
    if data.startswith(b"%PDF-"):
        return KINDS["pdf"]
    if data.startswith(b"\xff\xd8\xff"):
        return KINDS["jpeg"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return KINDS["png"]
    if data.startswith((b"GIF87a", b"GIF89a")):
        return KINDS["gif"]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return KINDS["webp"]
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return KINDS["tiff"]
    if data[4:8] == b"ftyp" and data[8:12] in HEIC_BRANDS:
        return KINDS["heic"]
    if data.startswith(b"PK\x03\x04"):
        return _zipped(data)
    raise FileRefused(_("The content of this file is not one of the kinds that can be attached (%(kinds)s).",
                        kinds=ACCEPTED))


def _zipped(data: bytes) -> Kind:
    """An Office or OpenDocument file (a zip with their parts), without macros; any other zip is refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {info.filename: info for info in archive.infolist()}
            mimetype = names.get("mimetype")
            if mimetype is not None and mimetype.file_size < 128:
                found = ODF_TYPES.get(archive.read(mimetype).strip())
                if found:
                    return KINDS[found]
            types = names.get("[Content_Types].xml")
            found = next((kind for part, kind in OOXML_PARTS.items() if part in names), None)
            if types is None or found is None:
                raise FileRefused(_("This zip file is not a Word, Excel or PowerPoint file; archives cannot be "
                                    "attached."))
            if types.file_size > CONTENT_TYPES_MAX:
                raise FileRefused(_("This Office file is damaged and cannot be attached."))
            if any(name.lower().endswith("vbaproject.bin") for name in names) or \
                    b"macroenabled" in archive.read(types).lower():
                raise FileRefused(_("This Office file contains macros, which can run programs. Save it without "
                                    "macros (.docx, .xlsx, .pptx) and attach that."))
            return KINDS[found]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError, OSError):
        raise FileRefused(_("This Office file is damaged and cannot be attached.")) from None


KNOWN_EXTENSIONS = {ext for kind in KINDS.values() for ext in kind.extensions} | {
    ".exe", ".com", ".bat", ".cmd", ".scr", ".msi", ".dll", ".js", ".vbs", ".ps1", ".sh", ".jar", ".apk", ".app",
    ".html", ".htm", ".xhtml", ".svg", ".xml", ".doc", ".xls", ".ppt", ".docm", ".xlsm", ".pptm", ".zip", ".rar",
    ".7z", ".txt", ".csv", ".bmp"}
NAME_MAX = 255


def clean_name(name: str | None, kind: Kind) -> str:
    """The uploaded name without folders or control characters, Chinese kept, ending in the content's extension;
    FileRefused when the name claims another kind of file than the content is (a program renamed .pdf is caught by
    `check` already; this catches a photo named .pdf, which would not open)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip().strip(".") or _("file")
    stem, dot, ext = base.rpartition(".")
    ext = f".{ext.lower()}" if dot and stem else ""
    if ext in kind.extensions:
        stem = base[: -len(ext)]
    elif ext in KNOWN_EXTENSIONS:
        raise FileRefused(_("The file's name ends in %(ext)s, but its content is a %(kind)s; rename it to end in "
                            "%(right)s if that is what it is.", ext=ext, kind=kind.label, right=kind.extension))
    else:
        stem, ext = base, kind.extension
    return stem[: NAME_MAX - len(ext)].rstrip() + ext
