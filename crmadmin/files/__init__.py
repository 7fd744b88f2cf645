"""Files on records (客户资料存档): checked by content (kinds), kept in a shared folder or the database (storage),
attached, read and removed with their operation log events (store). Imports models and audit; never admin."""
from flask import Flask

from . import storage
from .kinds import FileRefused


def init_app(app: Flask) -> None:
    storage.listen()


__all__ = ["FileRefused", "init_app"]
