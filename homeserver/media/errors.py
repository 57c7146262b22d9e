"""Media-specific Matrix errors, in addition to the tree in `homeserver.errors`.

    MatrixError
    ├── CannotOverwriteMedia  409 M_CANNOT_OVERWRITE_MEDIA
    ├── NotYetUploaded        504 M_NOT_YET_UPLOADED
    └── CannotThumbnail       400 M_UNKNOWN

Spec: Client-Server API, "Content repository" (PUT /_matrix/media/v3/upload, download
`timeout_ms`, GET thumbnail).
"""

from __future__ import annotations

from homeserver.errors import MatrixError


class CannotOverwriteMedia(MatrixError):
    def __init__(self, message: str = "Media already uploaded") -> None:
        super().__init__(409, "M_CANNOT_OVERWRITE_MEDIA", message)


class NotYetUploaded(MatrixError):
    def __init__(self, message: str = "Content has not yet been uploaded") -> None:
        super().__init__(504, "M_NOT_YET_UPLOADED", message)


class CannotThumbnail(MatrixError):
    """The content exists but is not an image this server can decode."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "M_UNKNOWN", message)
