"""The control-frame budget of the HTTP/2 client: a flood ends the connection, a busy correct
server does not (events built directly: the budget judges ``h2`` events, whatever sent them)."""

from __future__ import annotations

import h2.events
import pytest

from monitor.engine.sync.h2guard import MAX_CONTROL_PER_S, ControlBudget, FrameRefused


def _empty_data(stream_id: int, *, ends: bool) -> h2.events.DataReceived:
    ended = h2.events.StreamEnded(stream_id=stream_id) if ends else None
    return h2.events.DataReceived(
        stream_id=stream_id, data=b"", flow_controlled_length=0, stream_ended=ended
    )


def test_answers_ended_by_an_empty_data_frame_are_not_a_flood() -> None:
    # hypercorn ends every answer with an empty DATA + END_STREAM: a connection answering
    # more than the budget's worth of requests in a second is a busy correct server
    budget = ControlBudget()
    for i in range(3 * MAX_CONTROL_PER_S):
        budget.spend(_empty_data(2 * i + 1, ends=True))


def test_empty_data_frames_that_end_nothing_are_a_flood() -> None:
    budget = ControlBudget()
    for _ in range(MAX_CONTROL_PER_S):
        budget.spend(_empty_data(1, ends=False))
    with pytest.raises(FrameRefused, match="flood of control frames"):
        budget.spend(_empty_data(1, ends=False))
