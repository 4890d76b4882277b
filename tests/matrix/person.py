"""A person on the test homeserver, driven with matrix-nio: opens rooms, writes, reacts, reads what arrives."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, RoomCreateResponse, RoomPreset, RoomSendResponse, SyncResponse

from tests.homeserver import Account, Homeserver

Event = dict[str, Any]
WAIT = 60  # seconds; generous for 2 shared cores, and a test waiting this long has failed anyway


class Person:
    def __init__(self, homeserver: Homeserver, account: Account, store: Path | None = None):
        if store is not None:
            store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=store is not None, max_timeout_retry_wait_time=1, store_sync_tokens=False
        )
        self.client = AsyncClient(homeserver.url, account.user_id, store_path=str(store or ""), config=config)
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.user_id = account.user_id
        self.events: list[Event] = []  # every room event seen, with its room_id

    async def close(self) -> None:
        await self.client.close()

    async def sync(self, timeout: int = 500) -> None:
        response = await self.client.sync(timeout=timeout, since=self.client.next_batch)
        if not isinstance(response, SyncResponse):
            return
        if self.client.olm:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
        for room_id, info in response.rooms.join.items():
            self.events += [{**e.source, "room_id": room_id} for e in info.timeline.events]
            self.events += [{**e.source, "room_id": room_id} for e in info.state]

    async def wait_for(self, match: Callable[[Event], bool], timeout: float = WAIT) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events if match(e)]
            if found:
                return found[0]
            await self.sync()
        raise AssertionError("nothing matching arrived")

    def replies_to(self, event_id: str, sender: str) -> list[Event]:
        """Messages from `sender` answering `event_id` (a reply to it, or in its thread)."""
        return [
            e
            for e in self.events
            if e.get("sender") == sender
            and e.get("type") == "m.room.message"
            and _relates(e).get("m.in_reply_to", {}).get("event_id") == event_id
        ]

    async def answer_to(self, event_id: str, sender: str, timeout: float = WAIT) -> Event:
        await self.wait_for(lambda e: bool(self.replies_to(event_id, sender)), timeout)
        return self.replies_to(event_id, sender)[0]

    async def room(self, *invite: str, direct: bool = False, encrypted: bool = False) -> str:
        initial = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
        made = await self.client.room_create(
            is_direct=direct,
            invite=list(invite),
            preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
            initial_state=initial if encrypted else (),
        )
        assert isinstance(made, RoomCreateResponse), made
        return made.room_id

    async def joined(self, room_id: str, user_id: str) -> None:
        await self.wait_for(lambda e: _membership(e, room_id, user_id) == "join")

    async def send(self, room_id: str, text: str, msgtype: str = "m.text", **content: Any) -> str:
        body = {"msgtype": msgtype, "body": text, **content}
        sent = await self.client.room_send(room_id, "m.room.message", body, ignore_unverified_devices=True)
        assert isinstance(sent, RoomSendResponse), sent
        return sent.event_id

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        relates = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        sent = await self.client.room_send(room_id, "m.reaction", relates)
        assert isinstance(sent, RoomSendResponse), sent
        return sent.event_id


def _relates(event: Event) -> dict[str, Any]:
    return event.get("content", {}).get("m.relates_to") or {}


def _membership(event: Event, room_id: str, user_id: str) -> str | None:
    if event.get("room_id") == room_id and event.get("type") == "m.room.member" and event.get("state_key") == user_id:
        return event.get("content", {}).get("membership")
    return None


def thread_of(event: Event) -> str | None:
    relates = _relates(event)
    return relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
