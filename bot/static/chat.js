// govbot web chat: sends questions to api/chat and shows the Answer JSON.
// Every piece of answer text goes through textContent or setAttribute, never innerHTML: the knowledge
// base is data, not markup. Only http(s) links are rendered.
"use strict";

(() => {
  const words = JSON.parse(document.getElementById("govbot-data").textContent);
  const pageLang = document.documentElement.lang === "en" ? "en" : "fr";
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const send = form.querySelector("button[type=submit]");
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  let busy = false;

  const say = (lang) => words[lang] || words[pageLang];

  // Build an element; attrs go through setAttribute, text through textContent.
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function isHttp(url) {
    try {
      const parsed = new URL(url);
      return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.host !== "";
    } catch {
      return false;
    }
  }

  async function post(body) {
    const response = await fetch("api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let json = null;
    try {
      json = await response.json();
    } catch {
      json = null;
    }
    return { status: response.status, json };
  }

  function showQuestion(text) {
    const bubble = el("div", { class: "question" });
    bubble.append(el("span", { class: "who" }, say(pageLang).you), el("p", {}, text));
    log.append(bubble);
  }

  function fields(answer) {
    const entries = Object.entries(answer.fields || {});
    if (!entries.length) return null;
    const list = el("dl", { class: "fields" });
    const labels = answer.labels || {};
    for (const [key, value] of entries) list.append(el("dt", {}, labels[key] || key), el("dd", {}, value));
    return list;
  }

  function choices(answer) {
    const items = (answer.choices || []).filter((c) => c && typeof c.query === "string");
    if (!items.length) return null;
    const group = el("div", { class: "choices" });
    for (const choice of items) {
      const button = el("button", { type: "button", class: "choice" }, choice.label || choice.query);
      button.addEventListener("click", () => ask({ choice: choice.query }, choice.label || choice.query));
      group.append(button);
    }
    return group;
  }

  function sources(answer, lang) {
    const items = (answer.sources || []).filter((s) => s && isHttp(s.url));
    if (!items.length) return null;
    const block = el("div", { class: "sources" });
    block.append(el("h3", {}, say(lang).sources));
    const list = el("ul");
    for (const source of items) {
      const link = el("a", { href: source.url, rel: "noopener noreferrer", target: "_blank" }, source.title || source.url);
      const item = el("li");
      item.append(link);
      list.append(item);
    }
    block.append(list);
    return block;
  }

  function feedback(question, lang) {
    const group = el("div", { class: "feedback", role: "group", "aria-label": say(lang).feedback });
    for (const [value, icon] of [["up", "👍"], ["down", "👎"]]) {
      const button = el("button", { type: "button", class: "vote", "aria-pressed": "false" });
      button.append(el("span", { "aria-hidden": "true" }, icon + " "), document.createTextNode(say(lang)[value]));
      button.addEventListener("click", async () => {
        for (const other of group.querySelectorAll("button")) other.disabled = true;
        button.setAttribute("aria-pressed", "true");
        try {
          const { json } = await post({ feedback: value, question });
          group.append(el("span", { class: "thanks" }, (json && json.text) || ""));
        } catch {
          group.append(el("span", { class: "thanks" }, say(lang).error.replace("{ref}", "-")));
        }
      });
      group.append(button);
    }
    return group;
  }

  function showAnswer(answer, question) {
    const lang = answer.lang === "en" ? "en" : "fr";
    const article = el("article", { class: "answer", tabindex: "-1", lang });
    if (answer.title) article.append(el("h2", {}, answer.title));
    if (answer.text) article.append(el("p", { class: "text" }, answer.text));
    if (typeof answer.details === "string" && answer.details) {
      const more = el("details", { class: "more" });
      more.append(el("summary", {}, say(lang).more), el("p", { class: "text" }, answer.details));
      article.append(more);
    }
    for (const part of [fields(answer), choices(answer), sources(answer, lang)]) if (part) article.append(part);
    if (answer.as_of) article.append(el("p", { class: "as-of" }, say(lang).as_of.replace("{date}", answer.as_of)));
    if (answer.kind === "answer" && answer.intent !== "help") article.append(feedback(question, lang));
    log.append(article);
    article.focus();
  }

  function showError(text) {
    const article = el("article", { class: "answer error", tabindex: "-1" });
    article.append(el("p", { class: "text" }, text));
    log.append(article);
    article.focus();
  }

  // Digests of the visitor's subscriptions, waiting since the refresh that made them (shown once).
  function showDigest(digest) {
    const lang = digest.lang === "en" ? "en" : "fr";
    const article = el("article", { class: "answer digest", lang });
    article.append(el("h2", {}, digest.title));
    for (const section of digest.sections || []) {
      if (section.heading) article.append(el("h3", {}, section.heading));
      const list = el("ul", {});
      for (const line of section.lines || []) {
        const item = el("li", {}, line.text.replace(/^•\s*/, ""));  // the list draws its own bullets
        if (isHttp(line.url)) {
          item.append(" ", el("a", { href: line.url, rel: "noopener noreferrer", target: "_blank" }, "↗"));
        }
        list.append(item);
      }
      article.append(list);
    }
    if (digest.more) article.append(el("p", { class: "text" }, digest.text.split("\n").pop()));
    log.append(article);
  }

  async function showDigests() {
    try {
      const response = await fetch("api/digests", { credentials: "same-origin" });
      const json = response.ok ? await response.json() : null;
      for (const digest of (json && json.digests) || []) showDigest(digest);
    } catch {
      // No inbox (an older server, or offline): the chat works without it.
    }
  }

  async function ask(body, shown) {
    if (busy) return;
    busy = true;
    send.disabled = true;
    showQuestion(shown);
    status.textContent = say(pageLang).thinking;
    try {
      const { status: code, json } = await post(body);
      if (code === 200 && json && typeof json.text === "string") showAnswer(json, shown);
      else if (json && typeof json.text === "string") showError(json.text);
      else showError(say(pageLang).error.replace("{ref}", (json && json.request_id) || "-"));
    } catch {
      showError(say(pageLang).error.replace("{ref}", "-"));
    } finally {
      busy = false;
      send.disabled = false;
      status.textContent = "";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask({ question }, question);
  });

  showDigests();

  for (const button of document.querySelectorAll("button.example")) {
    button.addEventListener("click", () => ask({ question: button.textContent }, button.textContent));
  }
})();
