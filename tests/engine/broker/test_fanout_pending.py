"""FanOut.pending counts what subscribers have not taken yet, as the queues' sizes would."""

from __future__ import annotations

import asyncio

from engine.broker.streams import FanOut


def test_pending_when_items_published_taken_and_closed_then_counts_what_waits() -> None:
    async def scenario() -> list[int]:
        out = FanOut[int](keep_backlog=True)
        seen = [out.pending()]
        out.publish(1)
        out.publish(2)
        seen.append(out.pending())  # backlog, nobody subscribed
        first = out.subscribe()
        second = out.subscribe()
        seen.append(out.pending())  # the backlog moved into the first queue
        out.publish(3)
        seen.append(out.pending())  # one more in each of the two queues
        assert [await anext(first), await anext(first)] == [1, 2]
        seen.append(out.pending())
        assert await anext(second) == 3
        seen.append(out.pending())
        await first.aclose()  # leaves with its item 3 untaken: no longer waiting
        seen.append(out.pending())
        out.publish(4)
        seen.append(out.pending())
        out.close()
        seen.append(out.pending())
        assert [x async for x in second] == [4]
        seen.append(out.pending())
        return seen

    assert asyncio.run(scenario()) == [0, 2, 2, 4, 2, 1, 0, 1, 0, 0]
