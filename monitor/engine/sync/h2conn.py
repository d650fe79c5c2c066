"""HTTP/2 single-packet delivery on the maintained ``h2`` state machine.

Every request of the batch becomes a stream on one connection: its HEADERS (and its body but
the last byte) are sent first, without END_STREAM, so the server holds every stream open; then
the final frames of all streams (a one-byte DATA frame or an empty one, with END_STREAM) are
serialised together and written with one ``write``: one TCP segment on any real link.
TLS connections negotiate ``h2`` by ALPN; ``h2c`` uses prior knowledge.

A graceful GOAWAY (NO_ERROR: nginx's ``keepalive_requests``, hypercorn's
``keep_alive_max_requests``) leaves the connection *draining* (RFC 9113 §6.8): answers of
streams up to its last stream id still come, streams above it were not processed and, like
streams whose final frames were still held, are handed back (:attr:`H2Protocol.unsent`) for
:mod:`~monitor.engine.sync.h2batch` to send on a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from time import monotonic
from typing import cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from h2.connection import ConnectionState
from multidict import CIMultiDict

from monitor.engine.errors import MAX_KEPT_BODY, ResponseTooLarge, one_line
from monitor.engine.sync.h2guard import (
    MAX_UNSENT,
    ControlBudget,
    FrameRefused,
    code_name,
    whole_frames,
)
from monitor.engine.sync.wire import Outgoing
from monitor.errors import SoakmonError


class H2Error(SoakmonError):
    """The connection failed (``kind``, message) before or while streams were open."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


class _Stream:
    __slots__ = ("body", "done", "headers", "held", "keep_body", "nbytes", "out", "status")

    def __init__(self, out: Outgoing, done: asyncio.Future[None], keep_body: bool) -> None:
        self.out, self.done, self.keep_body = out, done, keep_body
        self.held = True
        """Its final frames have not been serialised yet: the server cannot have completed it."""
        self.status: int | None = None
        self.headers: CIMultiDict[str] = CIMultiDict()
        self.body: list[bytes] = []
        self.nbytes = 0


class H2Protocol(asyncio.Protocol):
    """One HTTP/2 client connection; :meth:`ready` waits for the server's SETTINGS."""

    def __init__(self) -> None:
        config = h2.config.H2Configuration(client_side=True, header_encoding="latin-1")
        self.h2 = h2.connection.H2Connection(config=config)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._settings: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._streams: dict[int, _Stream] = {}
        self._inbound = bytearray()
        self._acks: list[tuple[int, int]] = []
        """DATA received in this read, acknowledged after it (so that the flow-control window
        ``h2`` checks is the one the server was given, not one we reopened frame by frame)."""
        self._budget = ControlBudget()
        self._pong: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.draining: int | None = None
        """The last stream id of a graceful GOAWAY received (no stream is opened here since)."""
        self.unsent: list[Outgoing] = []
        """Requests the server did not process, or whose final frames were held when it sent
        a graceful GOAWAY: they go again on a new connection (no record of theirs is made)."""

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.h2.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        """Feed ``h2`` one whole frame at a time: the answers in the frames before a bad one
        are still delivered (``receive_data`` loses every event of a chunk that fails), and a
        frame header declaring more than the frame size we allow is refused at once instead
        of ``h2`` buffering its body (up to 16 MiB) first."""
        self._inbound += data
        try:
            for frame in whole_frames(self._inbound, self.h2.max_inbound_frame_size):
                for event in self.h2.receive_data(frame):
                    self._on_event(event)
                if self.closed:
                    return
        except (h2.exceptions.ProtocolError, FrameRefused) as exc:
            self._malformed(str(exc))
            return
        for size, stream_id in self._acks:
            with contextlib.suppress(h2.exceptions.StreamClosedError):
                self.h2.acknowledge_received_data(size, stream_id)
        self._acks.clear()
        self._flush()

    def _malformed(self, detail: str) -> None:
        if not self._settings.done():
            message = "target does not speak HTTP/2 (no SETTINGS frame to our preface)"
            self._no_settings(H2Error("malformed", message))
        self._fail_all("malformed", one_line(f"malformed HTTP/2 from the server: {detail}"))
        self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._pong.done():
            self._pong.set_result(None)
        if not self._settings.done():
            self._no_settings(H2Error("reset", "server closed the connection"))
        if self.draining is None:
            self._fail_all("reset", "server disconnected")
        else:
            after = f"after GOAWAY NO_ERROR, last stream {self.draining}"
            self._fail_all("reset", f"server closed the connection before the answer ({after})")

    def _no_settings(self, exc: H2Error) -> None:
        """The server's SETTINGS will not come: :meth:`ready` raises ``exc`` (marked as
        retrieved: a connection given up before anyone waited must not log it)."""
        self._settings.set_exception(exc)
        self._settings.exception()

    # -- events --------------------------------------------------------------------------------
    def _on_event(self, event: h2.events.Event) -> None:
        self._budget.spend(event)
        if isinstance(event, h2.events.PingAckReceived):
            if not self._pong.done():
                self._pong.set_result(None)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            if not self._settings.done():
                self._settings.set_result(None)
        elif isinstance(event, h2.events.ResponseReceived):
            stream = self._streams.get(event.stream_id or 0)
            if stream is not None:
                self._headers(event.stream_id or 0, stream, event.headers or ())
        elif isinstance(event, h2.events.DataReceived):
            stream = self._streams.get(event.stream_id or 0)
            data = event.data or b""
            self._acks.append((event.flow_controlled_length or 0, event.stream_id or 0))
            if stream is not None:
                stream.nbytes += len(data)
                if stream.keep_body:
                    stream.body.append(data)
                    if stream.nbytes > MAX_KEPT_BODY:
                        too_large = ResponseTooLarge("response body", MAX_KEPT_BODY)
                        self._give_up(event.stream_id or 0, too_large)
        elif isinstance(event, h2.events.StreamEnded):
            stream_id = event.stream_id or 0
            stream = self._streams.get(stream_id)
            self._finish(stream_id, None)
            if stream is not None:
                self._complete_answered(stream_id, stream.out)
        elif isinstance(event, h2.events.StreamReset):
            code = code_name(event.error_code)
            self._finish(event.stream_id or 0, ("reset", f"stream reset by the server ({code})"))
        elif isinstance(event, h2.events.ConnectionTerminated):
            last = event.last_stream_id or 0
            if event.error_code == h2.errors.ErrorCodes.NO_ERROR:
                self._drain(last)
                return
            self.closed = True  # no new streams here; the next batch opens a connection
            if not self._pong.done():
                self._pong.set_result(None)
            code = code_name(event.error_code)
            self._fail_all("reset", f"server ended the connection (GOAWAY {code})")

    def _drain(self, last: int) -> None:
        """A graceful GOAWAY: streams above ``last`` were not processed (RFC 9113 §8.7), the
        others may still be answered. ``h2`` closes its state machine on any GOAWAY
        (python-hyper/h2 issue 1181: it would refuse every later frame, answers included);
        it is reopened here, and :attr:`usable` keeps new streams off this connection."""
        self.h2.state_machine.state = ConnectionState.CLIENT_OPEN
        self.draining = last if self.draining is None else min(last, self.draining)
        for stream_id in [s for s in self._streams if s > last]:
            self._unsend(stream_id)

    def _unsend(self, stream_id: int) -> None:
        stream = self._streams.pop(stream_id)
        self.unsent.append(stream.out)
        if not stream.done.done():
            stream.done.set_result(None)

    def _headers(self, stream_id: int, stream: _Stream, headers: Sequence[_Header]) -> None:
        for name, value in headers:
            key, text = _text(name), _text(value)
            if key == ":status":
                if not (len(text) == 3 and text.isascii() and text.isdigit()):
                    shown = one_line(text, 40)
                    why = f"malformed response: :status {shown!r} is not a status code"
                    self._give_up(stream_id, why)
                    return
                stream.status = int(text)
            elif not key.startswith(":"):
                stream.headers.add(key, text)

    def _give_up(self, stream_id: int, why: object) -> None:
        """This stream's answer is unusable: its request fails (malformed), the server is told
        to stop sending it (RST_STREAM CANCEL), the connection goes on."""
        message = why if isinstance(why, str) else f"malformed response: {why}"
        self._finish(stream_id, ("malformed", message))
        with contextlib.suppress(h2.exceptions.H2Error):
            self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)

    def _finish(self, stream_id: int, error: tuple[str, str] | None) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None or stream.done.done():
            return
        out = stream.out
        out.done_at = monotonic()
        if error is not None:
            out.fail(error[0], error[1], True)  # type: ignore[arg-type]
        else:
            out.status, out.nbytes, out.sent = stream.status, stream.nbytes, True
            out.response_headers = stream.headers
            out.response_body = b"".join(stream.body) if stream.keep_body else None
        stream.done.set_result(None)

    def _complete_answered(self, stream_id: int, out: Outgoing) -> None:
        """The server answered before this request's final frame (an app that answers on the
        headers) and did not stop the request with RST_STREAM NO_ERROR: the request is
        completed now, as RFC 9113 §8.1 expects of the client. Left half-closed, the stream
        would hold one of the server's concurrent streams for the connection's life (one per
        early answer, until a batch no longer fits on one connection). A stream whose final
        frame already left is closed: nothing is sent."""
        try:
            self._send_final(stream_id, out)
        except h2.exceptions.StreamClosedError:
            pass
        except h2.exceptions.H2Error:  # its last byte does not fit the window it was left
            with contextlib.suppress(h2.exceptions.H2Error):
                self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)

    def _send_final(self, stream_id: int, out: Outgoing) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.held = False
        body = out.body or b""
        if body:
            self.h2.send_data(stream_id, body[-1:], end_stream=True)
        else:
            self.h2.end_stream(stream_id)

    def _fail_all(self, kind: str, message: str) -> None:
        """Fail every open stream; after a graceful GOAWAY those still held are handed back
        instead: their requests were never complete, they go on a new connection."""
        for stream_id, stream in list(self._streams.items()):
            if self.draining is not None and stream.held:
                self._unsend(stream_id)
            else:
                self._finish(stream_id, (kind, message))

    def withdraw(self) -> list[Outgoing]:
        """On a draining connection: give up the held streams (RST_STREAM CANCEL: the server
        frees them) and return every request to send again (none on any other connection)."""
        if self.draining is None:
            return []
        for stream_id, stream in list(self._streams.items()):
            if stream.held:
                self._unsend(stream_id)
                with contextlib.suppress(h2.exceptions.H2Error):
                    self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        self._flush()
        unsent, self.unsent = self.unsent, []
        return unsent

    # -- sending -------------------------------------------------------------------------------
    def _flush(self) -> None:
        data = self.h2.data_to_send()
        transport = self.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)
            if transport.get_write_buffer_size() > MAX_UNSENT:
                unsent = transport.get_write_buffer_size() >> 20
                self._fail_all("malformed", f"the server does not read ({unsent} MiB unsent)")
                self.abort()

    async def ready(self, timeout_s: float) -> None:
        """Wait for the server's first SETTINGS frame (raises :class:`H2Error`)."""
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._settings)
        except TimeoutError:
            raise H2Error("timeout", "no HTTP/2 SETTINGS from the server") from None

    @property
    def capacity(self) -> int:
        """Streams the server lets this connection open now."""
        if self.draining is not None:
            return 0
        limit = self.h2.remote_settings.max_concurrent_streams
        return max(0, limit - self.h2.open_outbound_streams)

    @property
    def busy(self) -> bool:
        """Some stream here still waits for its answer."""
        return bool(self._streams)

    @property
    def usable(self) -> bool:
        """New streams may open here: not closed, no graceful GOAWAY received."""
        transport = self.transport
        return (
            not self.closed
            and self.draining is None
            and transport is not None
            and not transport.is_closing()
        )

    def prime(self, out: Outgoing, keep_body: bool) -> tuple[int, asyncio.Future[None]]:
        """Open a stream for ``out``: headers and body but the last byte, no END_STREAM."""
        stream_id = self.h2.get_next_available_stream_id()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._streams[stream_id] = _Stream(out, done, keep_body)
        out.hold()
        self.h2.send_headers(stream_id, out.h2_headers(), end_stream=False)
        body = out.body or b""
        if len(body) > 1:
            head = body[:-1]
            if len(head) > self.h2.local_flow_control_window(stream_id):
                raise H2Error("other", "request body larger than the HTTP/2 send window")
            size = self.h2.max_outbound_frame_size
            for at in range(0, len(head), size):
                self.h2.send_data(stream_id, head[at : at + size])
        self._flush()
        return stream_id, done

    def ping(self) -> asyncio.Future[None]:
        """PING the server; done when its ACK comes (or the connection closes). The server has
        read every frame sent before then, and what it sent on reading them (a GOAWAY after
        its N-th request) has arrived: frames are read and written in order."""
        if self._pong.done():
            self._pong = asyncio.get_running_loop().create_future()
        with contextlib.suppress(h2.exceptions.H2Error):
            self.h2.ping(b"soakmon!")
            self._flush()
        return self._pong

    def finals(self, streams: Sequence[tuple[int, Outgoing]]) -> bytes:
        """The final frames (END_STREAM) of ``streams``, serialised together, not yet sent."""
        for stream_id, out in streams:
            self._send_final(stream_id, out)
        return self.h2.data_to_send()

    def close(self) -> None:
        """End the connection politely: our GOAWAY, then the TCP close."""
        self.closed = True
        with contextlib.suppress(h2.exceptions.H2Error):
            self.h2.close_connection()
            self._flush()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


_Header = tuple[bytes | str, bytes | str]


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
