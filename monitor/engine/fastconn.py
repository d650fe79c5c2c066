"""The fast loop's connection: an answer settled by a call to its VU, no future per request.

:class:`LoopConnection` is :class:`~monitor.engine.fastpath.Connection` with the settling
inlined into ``data_received`` (one Python call per answer less); see
:mod:`monitor.engine.fastloop`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httptools

from monitor.engine.fastpath import Connection, FastError

if TYPE_CHECKING:
    from monitor.engine.fastvu import LoopUser


class LoopConnection(Connection):
    """A fast-path connection that hands each settled answer to its VU by a call."""

    __slots__ = ("_vu",)

    def __init__(self, vu: LoopUser) -> None:
        super().__init__()
        self._vu = vu

    def data_received(self, data: bytes) -> None:
        # Connection.data_received with _finish/_settle inlined: this runs once per answer
        if not self._armed:  # bytes nobody asked for: the connection is unusable
            self._abort()
            return
        if not self._headers_done:
            self._head = data if self._head is None else self._head + data
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._unparsable(exc)
            return
        if self._done:
            self._done = False
            if self._armed:
                self._armed = False
                vu = self._vu
                if vu.counting:
                    vu.complete(self)
                else:
                    vu.answered(None, self)
        elif not self._headers_done:
            self._more_head(len(data))

    def _settle(self, exc: FastError | None) -> None:
        self._vu.answered(exc, self)
