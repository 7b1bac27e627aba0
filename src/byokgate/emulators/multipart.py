"""`multipart/form-data` request bodies (RFC 7578), as OpenAI's file-upload endpoints take them.

Stdlib only: the body is split at its boundary here; each part's headers are read by `email`'s header
parser (quoted and RFC 2231 `filename*=` parameters included). Fields repeat (`timestamp_granularities[]`,
`image[]`), so every name maps to a list, in the order sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP
from typing import Any

_HEADERS = BytesHeaderParser(policy=HTTP)


class MultipartError(ValueError):
    """A body that is not a readable `multipart/form-data` one (or a content type that is not)."""


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded file part."""

    filename: str
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        """The file name's extension, lower-cased, without the dot ("" when it has none)."""
        stem, dot, extension = self.filename.rpartition(".")
        return extension.lower() if dot and stem else ""


@dataclass(slots=True)
class Form:
    """A parsed form: text fields and file parts by name."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    def value(self, *names: str) -> str | None:
        """The last value of the first of `names` that was sent."""
        for name in names:
            if self.fields.get(name):
                return self.fields[name][-1]
        return None

    def values(self, *names: str) -> list[str]:
        """Every value sent under any of `names` (e.g. `include` and `include[]`)."""
        return [value for name in names for value in self.fields.get(name, ())]

    def uploads(self, *names: str) -> list[Upload]:
        return [upload for name in names for upload in self.files.get(name, ())]

    def record(self) -> dict[str, Any]:
        """What the request recorder keeps: the fields (one value as is, repeats as a list) and, for each
        file, its name, content type and size (never its bytes)."""
        recorded: dict[str, Any] = {
            name: values[0] if len(values) == 1 else list(values) for name, values in self.fields.items()
        }
        for name, uploads in self.files.items():
            described = [
                {"filename": upload.filename, "content_type": upload.content_type, "size": upload.size}
                for upload in uploads
            ]
            recorded[name] = described[0] if len(described) == 1 else described
        return recorded


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "multipart/form-data"


def _boundary(content_type: str) -> bytes:
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise MultipartError("multipart/form-data without a boundary")
    return boundary.encode("latin-1")


def parse(body: bytes, content_type: str | None) -> Form:
    """The form a `multipart/form-data` body holds; `MultipartError` when it is none."""
    if not is_multipart(content_type):
        raise MultipartError(f"not multipart/form-data: {content_type!r}")
    delimiter = b"--" + _boundary(content_type or "")
    chunks = body.split(delimiter)
    if len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise MultipartError("the body does not end with its closing boundary")
    form = Form()
    for chunk in chunks[1:-1]:
        part = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, data = part.partition(b"\r\n\r\n")
        if not separator:
            head, data = part.removesuffix(b"\r\n"), b""
        headers = _HEADERS.parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise MultipartError("a part without a name")
        filename = headers.get_filename()
        if filename is None:
            form.fields.setdefault(name, []).append(data.decode("utf-8", "replace"))
        else:
            upload = Upload(filename, headers.get_content_type() if "content-type" in headers else None, data)
            form.files.setdefault(name, []).append(upload)
    return form
