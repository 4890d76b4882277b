"""The web chat in a real browser: Debian's headless Chromium, driven over the DevTools protocol.

The DevTools client is aiohttp's websocket client (no extra dependency). The server is the real app on an
ephemeral loopback port over the `kb` fixture. Run this file directly to refresh docs/webchat.png:
`.venv/bin/python tests/test_webchat_browser.py docs/webchat.png`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.conversation import Conversation
from bot.delivery import deliver_due
from bot.digests import process_refresh
from bot.senders import web_sender
from bot.server import create_app
from bot.state import State
from knowledge import KnowledgeBase
from tests.digest_world import bring_news, roadmap

CHROMIUM = next(
    (
        p
        for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
        if p and Path(p).exists()
    ),
    None,
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--remote-debugging-port=0",
)
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium found (install Debian's `chromium` package to run the browser tests)"
)


class Browser:
    """One headless Chromium page, spoken to over its DevTools websocket."""

    def __init__(self, process: subprocess.Popen[bytes], session: aiohttp.ClientSession):
        self.process = process
        self.session = session
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def launch(cls, profile: Path) -> Browser:
        assert CHROMIUM is not None
        process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        browser = cls(process, aiohttp.ClientSession())
        try:
            await browser._attach(profile / "DevToolsActivePort")
        except BaseException:
            await browser.close()
            raise
        return browser

    async def _attach(self, port_file: Path) -> None:
        # Chromium writes the file once DevTools listens: about a second, but a first start on a busy 2-core
        # machine took more than 15 s once (a fresh clone's whole suite running beside it).
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.process.returncode}")
            assert time.monotonic() < deadline, "Chromium never opened DevTools"
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.reader = asyncio.create_task(self._read())
        for domain in ("Page", "Runtime", "Log"):
            await self.send(f"{domain}.enable")

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            else:
                self.events.append(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self.ws is not None
        ident = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, 15)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 10) -> Any:
        """Poll `expression` until it is truthy; returns its value."""
        for _ in range(int(timeout / 0.05)):
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}")

    async def open(self, url: str, viewport: dict[str, Any]) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", **viewport)
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete' && !!document.getElementById('question')")

    async def type_and_enter(self, text: str) -> None:
        """Focus the question box, type like a keyboard would, press Enter."""
        await self.evaluate("document.getElementById('question').focus()")
        await self.send("Input.insertText", text=text)
        enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text="\r", **enter)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **enter)

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        x, y = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    async def answers(self, count: int) -> list[dict[str, Any]]:
        """Wait for `count` answers on the page; each as {title, text, links, html}."""
        await self.wait_for(f"document.querySelectorAll('#log article.answer').length >= {count}")
        return await self.evaluate(
            "[...document.querySelectorAll('#log article.answer')].map(a => ({"
            " title: a.querySelector('h2')?.textContent ?? '',"
            " text: a.querySelector('.text')?.textContent ?? '',"
            " links: [...a.querySelectorAll('.sources a')].map(l => ({href: l.href, text: l.textContent})),"
            " choices: [...a.querySelectorAll('button.choice')].map(b => b.textContent),"
            " html: a.innerHTML}))"
        )

    async def screenshot(self, path: Path) -> None:
        result = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        path.write_bytes(base64.b64decode(result["data"]))

    def console(self) -> list[str]:
        return [
            str(e["params"].get("entry", {}).get("text", "")) + str(e["params"].get("exceptionDetails", ""))
            for e in self.events
            if e.get("method") in ("Log.entryAdded", "Runtime.exceptionThrown")
        ]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
        await self.session.close()
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


HOSTILE_SOURCE = """\
source:
  title: Plan <b>hostile</b>
  url: https://example.org/hostile
  published: 2024-01-15
actors:
  - id: XSS
    name: Cellule <script>window.__pwned = 1</script> Zorglub
    kind: service
    role: Gère <img src=x onerror="window.__pwned = 2"> les tests d'injection.
programmes:
  - id: EVIL
    name: Programme Zorglub
    owners: [XSS]
    summary: <script>window.__pwned = 3</script>
"""


async def test_question_answer_sources_choice_and_feedback_on_a_phone(kb, aiohttp_server, tmp_path):
    server = await aiohttp_server(create_app(Conversation(kb)))
    browser = await Browser.launch(tmp_path / "profile")
    try:
        await browser.open(str(server.make_url("/")), PHONE)
        assert await browser.evaluate("document.documentElement.lang") == "fr"
        assert await browser.evaluate("document.getElementById('question').labels.length") == 1

        await browser.type_and_enter("Qui pilote le programme Atlas ?")
        [first] = await browser.answers(1)
        assert first["title"] == "Programme Atlas"
        assert "Direction des systèmes d'information du GHT Exemple" in first["text"]
        assert first["links"] == [
            {"href": "https://example.org/ght/schema-directeur", "text": "Schéma directeur SI du GHT Exemple 2024-2027"}
        ]
        assert await browser.evaluate("document.activeElement.matches('#log article.answer:last-of-type')")
        assert await browser.evaluate("document.getElementById('question').value") == ""

        await browser.type_and_enter("dossier patient")
        second = (await browser.answers(2))[1]
        assert "Objectif 2.10 — Plan de reprise d'activité du dossier patient" in second["choices"]
        await browser.click("#log article.answer:last-of-type button.choice")
        third = (await browser.answers(3))[2]
        assert third["title"] == "Objectif 2.10 — Plan de reprise d'activité du dossier patient"

        await browser.click("#log article.answer:last-of-type button.vote")
        thanks = await browser.wait_for(
            "document.querySelector('#log article.answer:last-of-type .thanks')?.textContent"
        )
        assert thanks == "Merci pour votre retour."
        # Readable on a phone: nothing wider than the screen.
        assert await browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert browser.console() == []
    finally:
        await browser.close()


async def test_knowledge_text_with_script_is_shown_as_text(aiohttp_server, tmp_path):
    source = tmp_path / "hostile"
    source.mkdir()
    (source / "roadmap.yaml").write_text(HOSTILE_SOURCE, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(source)], bundled=False)
    server = await aiohttp_server(create_app(Conversation(kb)))
    browser = await Browser.launch(tmp_path / "profile")
    try:
        await browser.open(
            str(server.make_url("/")), {"width": 1000, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        )
        await browser.type_and_enter("Qui pilote le programme Zorglub ?")
        [answer] = await browser.answers(1)
        assert "Cellule <script>window.__pwned = 1</script> Zorglub" in answer["text"]
        assert "&lt;script&gt;" in answer["html"]
        assert answer["links"][0]["text"] == "Plan <b>hostile</b>"

        await browser.type_and_enter("cellule zorglub")
        answer = (await browser.answers(2))[1]
        assert answer["title"] == "XSS — Cellule <script>window.__pwned = 1</script> Zorglub"
        assert 'Gère <img src=x onerror="window.__pwned = 2"> les tests' in answer["text"]

        assert await browser.evaluate("document.querySelectorAll('#log script, #log img, #log b').length") == 0
        assert await browser.evaluate("typeof window.__pwned") == "undefined"
        assert browser.console() == []  # not even a blocked attempt (which CSP would report here)
    finally:
        await browser.close()


async def test_a_subscribed_visitor_finds_the_digest_when_the_page_opens_again(aiohttp_server, tmp_path):
    """Subscribed in the chat; a refresh moves the objective; the next visit shows the digest once, linked."""
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    conv = Conversation(kb)
    state = conv.subscriptions = State(kb.path)
    process_refresh(kb, state)
    server = await aiohttp_server(create_app(conv))
    browser = await Browser.launch(tmp_path / "profile")
    desktop = {"width": 1000, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    try:
        await browser.open(str(server.make_url("/")), desktop)
        await browser.type_and_enter("abonner objectif 1")
        [said] = await browser.answers(1)
        assert "C'est noté" in said["text"] + said["title"]
        assert await browser.evaluate("document.querySelectorAll('#log article.digest').length") == 0

        bring_news(src)
        kb.refresh([str(src)], bundled=False)
        process_refresh(kb, state)
        assert await deliver_due(state, {"web": web_sender(state)}) == {"delivered": 1}

        await browser.open(str(server.make_url("/")), desktop)  # the same browser: the visitor id is kept
        title = await browser.wait_for("document.querySelector('#log article.digest h2')?.textContent")
        assert title == "Du nouveau sur l'objectif 1"
        lines = await browser.evaluate(
            "[...document.querySelectorAll('#log article.digest li')].map(l => l.textContent)"
        )
        assert any("réalisé 100 %" in line for line in lines)
        links = await browser.evaluate("[...document.querySelectorAll('#log article.digest a')].map(a => a.href)")
        assert links and all(href.startswith("https://example.org/") for href in links)

        await browser.open(str(server.make_url("/")), desktop)  # shown once: not again on the next visit
        assert await browser.evaluate("document.querySelectorAll('#log article.digest').length") == 0
        assert browser.console() == []
    finally:
        await browser.close()


async def _screenshot(path: Path) -> None:
    """docs/webchat.png: the web chat answering one of its example questions over the bundled knowledge."""
    from aiohttp import web

    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Path(tmp) / "kb")
        kb.refresh()
        runner = web.AppRunner(create_app(Conversation(kb)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        browser = await Browser.launch(Path(tmp) / "profile")
        try:
            await browser.open(
                f"http://127.0.0.1:{port}/", {"width": 960, "height": 1200, "deviceScaleFactor": 1, "mobile": False}
            )
            await browser.type_and_enter("Qui porte le programme CaRE ?")
            await browser.answers(1)
            await browser.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
            await browser.screenshot(path)
        finally:
            await browser.close()
            await runner.cleanup()


async def _digest_screenshot(path: Path) -> None:
    """docs/digest-webchat.png: a visitor subscribed to objective 1 opens the chat after a refresh moved it."""
    from aiohttp import web

    with tempfile.TemporaryDirectory() as tmp:
        src = roadmap(Path(tmp) / "src")
        kb = KnowledgeBase(Path(tmp) / "kb")
        kb.refresh([str(src)], bundled=False)
        conv = Conversation(kb)
        state = conv.subscriptions = State(kb.path)
        process_refresh(kb, state)
        runner = web.AppRunner(create_app(conv), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        desktop = {"width": 960, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        browser = await Browser.launch(Path(tmp) / "profile")
        try:
            await browser.open(url, desktop)
            await browser.type_and_enter("abonner objectif 1")
            await browser.answers(1)
            bring_news(src)
            kb.refresh([str(src)], bundled=False)
            process_refresh(kb, state)
            await deliver_due(state, {"web": web_sender(state)})
            await browser.open(url, desktop)
            await browser.wait_for("document.querySelector('#log article.digest h2')?.textContent")
            await browser.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
            await browser.screenshot(path)
        finally:
            await browser.close()
            await runner.cleanup()


if __name__ == "__main__":
    # python -m tests.test_webchat_browser [docs/webchat.png] | digest [docs/digest-webchat.png]
    if sys.argv[1:2] == ["digest"]:
        asyncio.run(_digest_screenshot(Path(sys.argv[2] if len(sys.argv) > 2 else "docs/digest-webchat.png")))
    else:
        asyncio.run(_screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/webchat.png")))
