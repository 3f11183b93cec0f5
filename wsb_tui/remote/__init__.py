"""Attaching to a headless engine: the remote `EngineClient`, `wsb attach`, live status."""

from wsb_tui.remote.client import RemoteEngineClient
from wsb_tui.remote.connection import ConnectionLost, RemoteError
from wsb_tui.remote.endpoint import Endpoint, resolve_endpoint

__all__ = ["ConnectionLost", "Endpoint", "RemoteEngineClient", "RemoteError", "resolve_endpoint"]
