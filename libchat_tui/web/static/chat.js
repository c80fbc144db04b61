/* The patron chat widget: one chat over the desk's /patron WebSocket.
 *
 * Views: start (question form) or offline (ticket form when nobody is online) ->
 * chat (waiting with queue position, then chatting) -> after (ended: transcript and
 * rating) or lost (grace period over: ticket form) -> done (ticket filed).
 * Every command carries a random id; unacknowledged commands are resent with the same
 * id and "retry": true after a resume, so nothing typed offline is lost or doubled.
 * The resume token lives in sessionStorage so a reload or another page of the site
 * resumes the same chat. All patron and librarian text goes in with textContent.
 * After a reload the log is rebuilt from the patron's transcript; the lines the desk only
 * said live ("Ana Reyes joined the chat.") are put back from the librarians named in it.
 * The log keeps its newest line in view whenever its size changes (the after-chat panel).
 */
(function () {
  "use strict";

  var CONFIG = readConfig();
  var S = CONFIG.strings || {};
  var STORE = "libchat-widget-chat";
  var LIVE = { waiting: true, active: true };
  var NEEDS_CHAT = { message: true, leave: true, transcript: true, rate: true, ticket: true };
  var BACKOFF = [500, 1000, 2000, 3000, 5000];

  var ws = null;          // the current socket
  var bound = false;      // this socket has our chat (after join/resume)
  var attempt = 0;
  var retryTimer = 0;
  var outbox = new Map(); // id -> {id, type, fields, sent, persist, resolve, reject}
  var seen = new Set();   // message ids already in the log
  var chat = load() || {};
  var state = "";
  var librarian = "";
  var typingTimer = 0;
  var lastTypingSent = 0;
  var rebuilt = false;    // the log was rebuilt from the desk since this page loaded
  var logAtEnd = true;    // the log shows its newest line: keep it so when it resizes

  function $(id) { return document.getElementById(id); }

  function readConfig() {
    var node = document.getElementById("libchat-config");
    var cfg = null;
    try { cfg = JSON.parse(node ? node.textContent : "null"); } catch (e) { cfg = null; }
    return cfg || { library_name: "the library", strings: {} };
  }

  function t(key, vars) {
    var text = Object.prototype.hasOwnProperty.call(S, key) ? S[key] : key;
    return String(text).replace(/\{(\w+)\}/g, function (m, name) {
      return vars && Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
    });
  }

  function randomId() {  // 32 hex digits
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function newId() {
    return "w-" + randomId().slice(0, 24);
  }

  // --- storage (sessionStorage: this tab, this site) ---------------------------------

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch (e) { return null; }
  }

  function save() {
    chat.outbox = [];
    outbox.forEach(function (item) {
      if (item.persist) chat.outbox.push({ id: item.id, type: item.type, fields: item.fields, sent: item.sent });
    });
    try { sessionStorage.setItem(STORE, JSON.stringify(chat)); } catch (e) { /* private mode */ }
  }

  function forget() {
    chat = {};
    try { sessionStorage.removeItem(STORE); } catch (e) { /* private mode */ }
  }

  // --- the connection -----------------------------------------------------------------

  /* This browser's id (random, kept in localStorage): the desk counts new chats per
     browser as well as per network, so one busy library PC does not block its neighbours. */
  function clientId() {
    var id = "";
    try { id = localStorage.getItem(STORE + ":client") || ""; } catch (e) { /* private mode */ }
    if (!/^[0-9a-f]{32}$/.test(id)) {
      id = randomId();
      try { localStorage.setItem(STORE + ":client", id); } catch (e) { /* private mode */ }
    }
    return id;
  }

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/patron?client=" +
      clientId();
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (ws) return;
    var sock;
    try { sock = new WebSocket(socketUrl()); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    bound = false;
    sock.onopen = function () { if (sock === ws) opened(); };
    sock.onmessage = function (ev) { if (sock === ws) received(ev.data); };
    sock.onclose = function () { if (sock === ws) closed(); };
  }

  function opened() {
    attempt = 0;
    if (chat.token) {
      // After a reload, ask for every librarian message: the log starts empty.
      command("resume", { token: chat.token, last_message_id: rebuilt ? chat.lastMessageId || 0 : 0 })
        .promise.then(resumed, resumeFailed);
    } else {
      // Every new connection says what it is for at once (the desk closes idle ones).
      if (!$("view-start").hidden) showStartStatus("");
      askStatus();
    }
    flush();
  }

  function closed() {
    ws = null;
    bound = false;
    outbox.forEach(function (item) {  // only chat commands wait for the next connection
      if (!NEEDS_CHAT[item.type]) { outbox.delete(item.id); item.reject({ code: "connection_lost", message: t("unreachable") }); }
    });
    if (chat.token && LIVE[state]) {
      showBanner(t("reconnecting"), false);
      scheduleReconnect();
    } else if (!chat.token && !$("view-start").hidden) {
      showStartStatus(t("unreachable"));
      scheduleReconnect();
    }
  }

  function scheduleReconnect() {
    if (retryTimer) return;
    var delay = BACKOFF[Math.min(attempt, BACKOFF.length - 1)] * (0.8 + Math.random() * 0.4);
    attempt += 1;
    retryTimer = setTimeout(function () { retryTimer = 0; connect(); }, delay);
  }

  function sendable(item) {
    return ws && ws.readyState === WebSocket.OPEN && item.on !== ws && (bound || !NEEDS_CHAT[item.type]) &&
      !(item.type === "message" && !LIVE[state]);
  }

  function transmit(item) {
    var frame = Object.assign({ type: item.type, id: item.id }, item.fields);
    if (item.sent) frame.retry = true;
    item.sent = true;
    item.on = ws;
    ws.send(JSON.stringify(frame));
  }

  function flush() {
    outbox.forEach(function (item) { if (sendable(item)) transmit(item); });
    if (bound) save();
  }

  /* Send a command; resolves with its ack's result, rejects with {code, message}. */
  function command(type, fields, opts) {
    var item = { id: (opts && opts.id) || newId(), type: type, fields: fields || {}, sent: !!(opts && opts.sent),
                 persist: !!(opts && opts.persist) };
    var promise = new Promise(function (resolve, reject) { item.resolve = resolve; item.reject = reject; });
    outbox.set(item.id, item);
    if (item.persist) save();
    if (!ws) connect();
    else if (sendable(item)) transmit(item);
    item.promise = promise;
    return item;
  }

  function signal(type) {
    if (ws && ws.readyState === WebSocket.OPEN && bound) ws.send(JSON.stringify({ type: type }));
  }

  function received(raw) {
    var frame;
    try { frame = JSON.parse(raw); } catch (e) { return; }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "ack" || frame.type === "error") {
      var item = outbox.get(String(frame.id));
      if (!item) return;
      outbox.delete(item.id);
      if (item.persist) save();
      if (frame.type === "ack") item.resolve(frame.result || {});
      else item.reject({ code: String(frame.code || "error"), message: String(frame.message || "") });
      return;
    }
    var handler = EVENTS[frame.type];
    if (handler) handler(frame);
  }

  var EVENTS = {
    message: function (frame) { if (frame.message) addMessage(frame.message); },
    state: function (frame) {
      // `by: "Patron"` is the patron's own doing (resumed): not a librarian joining.
      if (frame.state === "active" && frame.by && frame.by !== "Patron") {
        librarian = chat.librarian = String(frame.by);
        addSystem(t("joined", { name: librarian }), frame.at);
      }
      if (frame.state === "ended" && !chat.endedByMe) chat.endedBy = "librarian";
      chat.endedAt = frame.at || chat.endedAt;
      setState(String(frame.state || ""));
    },
    queue: function (frame) { showQueue(frame.position); },
    typing: function (frame) { showTyping(String(frame.who || librarian || t("librarian"))); },
    ticket_offer: function () { setState("disconnected"); showLost(); },
  };

  // --- resume ------------------------------------------------------------------------

  function resumed(result) {
    bound = true;
    var wasReconnecting = !$("banner").hidden;
    chat.chatId = result.chat_id;
    (result.messages || []).forEach(addMessage);
    // The owner now (a colleague may have taken the chat over), not the last one who wrote.
    if (result.librarian) librarian = chat.librarian = String(result.librarian);
    setState(String(result.state || ""), { quiet: true });
    if (!rebuilt) {
      rebuilt = true;
      var owner = result.librarian ? String(result.librarian) : "";
      command("transcript").promise.then(function (res) { rebuildLog(res.messages || [], owner); }, function () {});
    }
    if (!LIVE[state]) failUnsent();
    if (result.ticket_offered) showLost();
    flush();
    if (wasReconnecting) {
      showBanner(t("reconnected"), true);
      setTimeout(hideBanner, 2500);
    }
  }

  function resumeFailed(err) {
    if (err.code === "bad_resume_token" || err.code === "unknown_chat") {
      forget();
      outbox.clear();
      hideBanner();
      resetLog();
      begin();
    }
  }

  function failUnsent() {  // the chat is over: what could not be sent goes into the ticket form
    var unsent = [];
    outbox.forEach(function (item) {
      if (item.type === "message") {
        unsent.push(item.fields.text);
        outbox.delete(item.id);
        item.reject({ code: "illegal_transition", message: "" });
      }
    });
    if (unsent.length) {
      var details = $("ticket-details");
      details.value = (details.value ? details.value + "\n" : "") + unsent.join("\n");
      save();
    }
  }

  // --- the log -----------------------------------------------------------------------

  function clock(at) {
    var d = at ? new Date(at) : new Date();
    if (isNaN(d.getTime())) d = new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function line(kind, who, text, at) {
    var li = document.createElement("li");
    li.className = "msg " + kind;
    var meta = document.createElement("div");
    meta.className = "meta";
    if (kind !== "system") {
      var name = document.createElement("span");
      name.className = "who";
      name.textContent = who;
      meta.appendChild(name);
    }
    if (at || kind !== "system") {  // a line put back after a reload has no time to show
      var time = document.createElement("time");
      time.className = "at";
      if (at) time.dateTime = at;
      time.textContent = clock(at);
      meta.appendChild(time);
    }
    var body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    li.appendChild(meta);
    li.appendChild(body);
    $("log-list").appendChild(li);
    logToEnd();
    return li;
  }

  function logToEnd() {
    var log = $("log");
    log.scrollTop = log.scrollHeight;
    logAtEnd = true;
  }

  function onLogScroll() {
    var log = $("log");
    logAtEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 4;
  }

  function addMessage(m) {
    if (!m || typeof m !== "object") return;
    var id = typeof m.id === "number" ? m.id : null;
    if (id !== null && seen.has(id)) return;
    if (id !== null) seen.add(id);
    var sender = m.sender === "patron" ? "patron" : m.sender === "system" ? "system" : "librarian";
    if (sender === "librarian") {
      if (id !== null && id > (chat.lastMessageId || 0)) chat.lastMessageId = id;
      if (m.author) librarian = chat.librarian = String(m.author);
      save();
      hideTyping();
    }
    var who = sender === "patron" ? t("you") : String(m.author || librarian || t("librarian"));
    line(sender, who, String(m.text == null ? "" : m.text), m.at);
  }

  function addSystem(text, at) { line("system", "", text, at); }

  function resetLog() { $("log-list").textContent = ""; seen.clear(); }

  /* The patron's transcript has their and the librarians' lines only. The desk told the
     patron live who joined (accepted, or took the chat over): put those lines back before
     each librarian's first line, and for `owner` (from resume) if they have not written yet.
     Lines the desk sends as sender "system" are shown as they are instead. */
  function rebuildLog(messages, owner) {
    resetLog();
    var told = messages.some(function (m) { return m && m.sender === "system"; });
    var current = "";
    messages.forEach(function (m) {
      var author = m && m.sender === "librarian" && m.author ? String(m.author) : "";
      if (!told && author && author !== current) addSystem(t("joined", { name: author }), null);
      if (author) current = author;
      addMessage(m);
    });
    if (!told && owner && owner !== current) addSystem(t("joined", { name: owner }), null);
    if (owner) librarian = chat.librarian = owner;
    save();
    outbox.forEach(function (item) { if (item.type === "message") pendingLine(item); });
  }

  function pendingLine(item) {
    var li = line("patron", t("you"), item.fields.text, null);
    var flag = document.createElement("span");
    flag.className = "flag";
    flag.textContent = t("sending");
    li.querySelector(".meta").appendChild(flag);
    li.setAttribute("aria-busy", "true");
    item.promise.then(function (res) {
      if (typeof res.message_id === "number") seen.add(res.message_id);
      flag.remove();
      li.removeAttribute("aria-busy");
    }, function () {
      li.classList.add("failed");
      flag.textContent = t("not_sent");
      li.removeAttribute("aria-busy");
    });
  }

  function sendMessage(text) {
    pendingLine(command("message", { text: text }, { persist: true }));
  }

  // --- views and state ---------------------------------------------------------------

  function show(view, focusId) {
    ["view-start", "view-offline", "view-chat", "view-done"].forEach(function (id) { $(id).hidden = id !== view; });
    if (focusId) { var el = $(focusId); if (el) el.focus(); }
  }

  function announce(text) { $("announce").textContent = text; }

  function showBanner(text, ok) {
    var b = $("banner");
    b.textContent = text;
    b.classList.toggle("ok", !!ok);
    b.hidden = false;
  }

  function hideBanner() { $("banner").hidden = true; }

  function showStartStatus(text) {
    var p = $("start-status");
    p.textContent = text;
    p.hidden = !text;
  }

  function showQueue(position) {
    var q = $("queue");
    var n = Number(position);
    if (state !== "waiting" || !(n >= 1)) { q.hidden = true; return; }
    q.textContent = n === 1 ? t("queue_next") : t("queue_position", { position: n });
    q.hidden = false;
    announce(q.textContent);
  }

  function showTyping(who) {
    var p = $("typing");
    p.textContent = t("typing", { name: who });
    p.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, 5000);
  }

  function hideTyping() { clearTimeout(typingTimer); $("typing").hidden = true; }

  function setState(next, opts) {
    var before = state;
    state = next;
    chat.state = next;
    save();
    var live = !!LIVE[next];
    $("composer").hidden = !live;
    $("end-chat").disabled = !live;
    if (next !== "waiting") $("queue").hidden = true;
    if (live) {
      $("after").hidden = true;
      $("lost").hidden = true;
      $("view-chat").classList.remove("over");
      var heading = next === "waiting" ? t("waiting") : t("chatting_with", { name: librarian || t("librarian") });
      $("chat-heading").textContent = heading;
      show("view-chat");
      if (next !== before && !(opts && opts.quiet)) announce(heading);
      if (next === "active" && before === "waiting") $("composer-text").focus();
      else if (next === "waiting" && before !== "waiting") $("composer-text").focus();
    } else if (next === "ended") {
      showEnded();
    } else if (next === "disconnected") {
      hideBanner();
      showLost();
    } else if (next === "closed") {
      showEnded();
    }
  }

  function showEnded() {
    hideBanner();
    hideTyping();
    $("lost").hidden = true;
    $("composer").hidden = true;
    var key = chat.endedBy === "patron" ? "ended_by_you" : "ended_by_librarian";
    var text = t(key, { time: clock(chat.endedAt) });
    pastHeading();
    $("ended-text").textContent = text;
    $("after").hidden = false;
    $("rate-form").hidden = !!chat.rated;
    $("rated").hidden = !chat.rated;
    $("view-chat").classList.add("over");
    show("view-chat");
    logToEnd();  // the panel took room from the log: its newest line stays whole in view
    $("ended-text").focus({ preventScroll: true });
    announce(text);
  }

  function pastHeading() {
    $("chat-heading").textContent = librarian ? t("chat_with", { name: librarian })
      : t("panel_title", { library: CONFIG.library_name });
  }

  function showLost() {
    hideBanner();
    pastHeading();
    $("composer").hidden = true;
    $("after").hidden = true;
    $("lost").hidden = false;
    if (!$("ticket-email").value && chat.email) $("ticket-email").value = chat.email;
    $("view-chat").classList.add("over");
    show("view-chat");
    logToEnd();
    $("lost-heading").focus({ preventScroll: true });
    announce(t("lost_title"));
  }

  function done(text) {
    $("done-text").textContent = text;
    show("view-done", "done-text");
    announce(text);
  }

  function begin() {
    show("view-start");
    if (ws && ws.readyState === WebSocket.OPEN) askStatus();
    else connect();
  }

  /* The department this page sends chats to (#department=… or ?department=…), if any. */
  function pageDepartment() {
    var department = fragmentValue("department") || new URLSearchParams(location.search).get("department");
    return department ? department.slice(0, 100) : null;
  }

  /* Is anyone online who answers this page's department? Nobody: the offline form. */
  function askStatus() {
    var fields = {};
    var department = pageDepartment();
    if (department) fields.department = department;
    command("status", fields).promise.then(function (res) {
      if (res.librarians_online === 0 && !$("view-start").hidden) show("view-offline", "offline-heading");
    }, function () { /* an older desk without status: offer the chat */ });
  }

  function startNew() {
    forget();
    outbox.clear();
    state = "";
    librarian = "";
    resetLog();
    if (ws) { var old = ws; ws = null; old.close(); }
    ["start-question", "rate-comment", "ticket-details", "composer-text"].forEach(function (id) { $(id).value = ""; });
    begin();
  }

  // --- forms -------------------------------------------------------------------------

  function fieldError(errorId, input, text) {
    var p = $(errorId);
    p.textContent = text;
    p.hidden = !text;
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  function clearErrors(form) {
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".error").forEach(function (el) { el.hidden = true; });
  }

  var EMAIL = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;

  function check(errorId, fields) {  // [[input, labelKey, required, isEmail]]
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i], value = f[0].value.trim();
      if (f[2] && !value) { fieldError(errorId, f[0], t("required", { field: $(f[1]).textContent.trim() })); return false; }
      if (f[3] && value && !EMAIL.test(value)) { fieldError(errorId, f[0], t("invalid_email")); return false; }
    }
    return true;
  }

  function busy(button, on) { button.disabled = on; button.setAttribute("aria-busy", on ? "true" : "false"); }

  function pageUrl() {
    var m = /(?:^#|&)page=([^&]*)/.exec(location.hash);
    var page = "";
    try { page = m ? decodeURIComponent(m[1]) : document.referrer; } catch (e) { page = ""; }
    return page ? page.slice(0, 2000) : null;
  }

  function fragmentValue(key) {
    var m = new RegExp("(?:^#|&)" + key + "=([^&]*)").exec(location.hash);
    try { return m ? decodeURIComponent(m[1]) : ""; } catch (e) { return ""; }
  }

  function onStart(ev) {
    ev.preventDefault();
    var form = $("start-form");
    clearErrors(form);
    var name = $("start-name"), email = $("start-email"), question = $("start-question");
    if (!check("start-error", [[name, "start-name-label", true], [email, "start-email-label", CONFIG.require_email, true],
                               [question, "start-question-label", true]])) return;
    var button = $("start-submit");
    busy(button, true);
    var fields = { name: name.value.trim(), email: email.value.trim() || null, question: question.value.trim() };
    var page = pageUrl();
    if (page) fields.page = page;
    var department = pageDepartment();
    if (department) fields.department = department;
    // For the librarian's patron panel, and for a block by browser (not only by network).
    if (navigator.userAgent) fields.browser = String(navigator.userAgent).slice(0, 300);
    fields.client_id = clientId();
    command("join", fields).promise.then(function (res) {
      busy(button, false);
      bound = true;
      rebuilt = true;
      chat = { token: res.resume_token, chatId: res.chat_id, email: fields.email, lastMessageId: 0 };
      save();
      showStartStatus("");
      line("patron", t("you"), fields.question, null);
      setState(String(res.state || "waiting"));
      if (typeof res.position === "number") showQueue(res.position);
    }, function (err) {
      busy(button, false);
      if (err.code === "queue_full") {  /* the line is full: the question goes as a ticket */
        $("offline-name").value = fields.name;
        $("offline-email").value = fields.email || "";
        $("offline-question").value = fields.question;
        show("view-offline", "offline-heading");
        fieldError("offline-error", null, err.message);
        return;
      }
      fieldError("start-error", null, t("error", { message: err.message || err.code }));
    });
  }

  function onOffline(ev) {
    ev.preventDefault();
    var form = $("offline-form");
    clearErrors(form);
    var name = $("offline-name"), email = $("offline-email"), question = $("offline-question");
    if (!check("offline-error", [[name, "offline-name-label", true], [email, "offline-email-label", true, true],
                                 [question, "offline-question-label", true]])) return;
    var button = $("offline-submit");
    busy(button, true);
    command("offline_ticket", { name: name.value.trim(), email: email.value.trim(), question: question.value.trim() })
      .promise.then(function (res) {
        busy(button, false);
        done(t("offline_sent", { ticket: res.ticket_id }));
      }, function (err) {
        busy(button, false);
        fieldError("offline-error", null, t("error", { message: err.message || err.code }));
      });
  }

  function onTicket(ev) {
    ev.preventDefault();
    clearErrors($("ticket-form"));
    var email = $("ticket-email");
    if (!check("ticket-error", [[email, "ticket-email-label", true, true]])) return;
    var button = $("ticket-submit");
    busy(button, true);
    command("ticket", { email: email.value.trim(), details: $("ticket-details").value.trim() }).promise.then(function (res) {
      busy(button, false);
      forget();
      done(t("ticket_sent", { ticket: res.ticket_id }));
    }, function (err) {
      busy(button, false);
      fieldError("ticket-error", null, t("error", { message: err.message || err.code }));
    });
  }

  function onSend(ev) {
    ev.preventDefault();
    var box = $("composer-text");
    var text = box.value.trim();
    if (!text) return;
    box.value = "";
    sendMessage(text);
    box.focus();
  }

  function onComposerKey(ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      onSend(ev);
    }
  }

  /* In the question box, as in the reply box: Enter starts the chat, Shift+Enter a new line. */
  function onQuestionKey(ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("start-form").requestSubmit();
    }
  }

  function onTyping() {
    var now = Date.now();
    if (now - lastTypingSent >= 2000 && LIVE[state]) {
      lastTypingSent = now;
      signal("typing");
    }
  }

  function onEndClick() {
    var dialog = $("confirm-end");
    if (typeof dialog.showModal === "function") dialog.showModal();
    else if (window.confirm(t("end_confirm"))) endChat();
  }

  function endChat() {
    chat.endedByMe = true;
    chat.endedBy = "patron";
    save();
    command("leave").promise.then(function () {
      chat.endedAt = chat.endedAt || new Date().toISOString();
      setState("ended");
    }, function (err) {
      announce(t("error", { message: err.message || err.code }));
    });
  }

  function onDownload() {
    var button = $("download");
    busy(button, true);
    command("transcript").promise.then(function (res) {
      busy(button, false);
      var lines = [t("transcript_heading", { library: CONFIG.library_name }), ""];
      (res.messages || []).forEach(function (m) {
        var who = m.sender === "patron" ? t("you") : m.sender === "system" ? "*" : String(m.author || t("librarian"));
        lines.push("[" + clock(m.at) + "] " + who + ": " + String(m.text == null ? "" : m.text));
      });
      var blob = new Blob([lines.join("\n") + "\n"], { type: "text/plain;charset=utf-8" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      // Named by the day the chat started: the chat's reference is opaque and means nothing to the patron.
      a.download = "library-chat-" + String(res.started_at || new Date().toISOString()).slice(0, 10) + ".txt";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
    }, function (err) {
      busy(button, false);
      announce(t("error", { message: err.message || err.code }));
    });
  }

  function onRate(ev) {
    ev.preventDefault();
    clearErrors($("rate-form"));
    var picked = document.querySelector("input[name=stars]:checked");
    if (!picked) { fieldError("rate-error", document.querySelector("input[name=stars]"), t("required", { field: t("rate_legend") })); return; }
    var button = $("rate-submit");
    busy(button, true);
    command("rate", { stars: Number(picked.value), comment: $("rate-comment").value.trim() }).promise.then(function () {
      busy(button, false);
      chat.rated = true;
      save();
      $("rate-form").hidden = true;
      $("rated").textContent = t("rated");
      $("rated").hidden = false;
      announce(t("rated"));
    }, function (err) {
      busy(button, false);
      fieldError("rate-error", null, t("error", { message: err.message || err.code }));
    });
  }

  function buildStars() {
    var row = $("star-row");
    for (var n = 1; n <= 5; n++) {
      var wrap = document.createElement("span");
      wrap.className = "star";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "stars";
      input.value = String(n);
      input.id = "star-" + n;
      var label = document.createElement("label");
      label.htmlFor = input.id;
      var text = document.createElement("span");
      text.className = "visually-hidden";
      text.textContent = t(n === 1 ? "star" : "stars", { n: n });
      label.appendChild(text);
      wrap.appendChild(input);
      wrap.appendChild(label);
      row.appendChild(wrap);
    }
    row.addEventListener("change", function () {
      var picked = Number((document.querySelector("input[name=stars]:checked") || {}).value || 0);
      row.querySelectorAll(".star").forEach(function (el, i) { el.classList.toggle("on", i < picked); });
    });
  }

  // --- start-up ----------------------------------------------------------------------

  function applyConfig() {
    var root = document.documentElement;
    if (CONFIG.primary_colour) root.style.setProperty("--primary", CONFIG.primary_colour);
    if (CONFIG.text_colour) root.style.setProperty("--on-primary", CONFIG.text_colour);
    var title = t("panel_title", { library: CONFIG.library_name });
    document.title = title;
    $("title").textContent = title;
    $("greeting").textContent = CONFIG.greeting || "";
    $("offline-message").textContent = CONFIG.offline_message || "";
    var labels = {
      "start-name-label": "name_label", "start-email-label": "email_label", "start-question-label": "question_label",
      "start-submit": "start", "offline-heading": "offline_title", "offline-name-label": "name_label",
      "offline-email-label": "email_label", "offline-question-label": "question_label", "offline-submit": "offline_send",
      "composer-label": "message_label", "composer-send": "send", "end-chat": "end_chat", "lost-heading": "lost_title",
      "lost-text": "lost_text", "ticket-email-label": "email_label", "ticket-details-label": "details_label",
      "ticket-submit": "ticket_send", "download": "download", "rate-legend": "rate_legend",
      "rate-comment-label": "comment_label", "rate-submit": "rate_send", "new-chat": "new_chat",
      "done-new-chat": "new_chat", "confirm-text": "end_confirm", "confirm-yes": "end_yes", "confirm-no": "end_no",
      "minimize": "minimize", "start-email-hint": "email_hint", "start-question-hint": "question_hint",
      "composer-hint": "message_hint",
    };
    Object.keys(labels).forEach(function (id) { $(id).textContent = t(labels[id]); });
    $("start-email-optional").textContent = CONFIG.require_email ? "" : t("email_optional");
    $("start-email").required = !!CONFIG.require_email;
  }

  function wire() {
    $("start-form").addEventListener("submit", onStart);
    $("offline-form").addEventListener("submit", onOffline);
    $("ticket-form").addEventListener("submit", onTicket);
    $("composer").addEventListener("submit", onSend);
    $("composer-text").addEventListener("keydown", onComposerKey);
    $("start-question").addEventListener("keydown", onQuestionKey);
    $("log").addEventListener("scroll", onLogScroll);
    if (window.ResizeObserver) new ResizeObserver(function () { if (logAtEnd) logToEnd(); }).observe($("log"));
    $("composer-text").addEventListener("input", onTyping);
    $("end-chat").addEventListener("click", onEndClick);
    $("confirm-yes").addEventListener("click", function (ev) { ev.preventDefault(); $("confirm-end").close("end"); endChat(); });
    $("confirm-no").addEventListener("click", function (ev) { ev.preventDefault(); $("confirm-end").close("cancel"); $("end-chat").focus(); });
    $("download").addEventListener("click", onDownload);
    $("rate-form").addEventListener("submit", onRate);
    $("new-chat").addEventListener("click", startNew);
    $("done-new-chat").addEventListener("click", startNew);
    window.addEventListener("online", function () { if (!ws && chat.token && LIVE[state]) connect(); });
    window.addEventListener("offline", function () { if (ws) { var old = ws; ws = null; old.close(); closed(); } });
    if (/[?&]embed=1/.test(location.search) && window.parent !== window) {
      var minimize = $("minimize");
      minimize.hidden = false;
      minimize.addEventListener("click", function () { window.parent.postMessage({ libchat: "minimize" }, "*"); });
      document.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && !$("confirm-end").open) window.parent.postMessage({ libchat: "minimize" }, "*");
      });
    }
  }

  function restoreOutbox() {
    (chat.outbox || []).forEach(function (saved) {
      var item = command(saved.type, saved.fields, { id: saved.id, sent: saved.sent, persist: true });
      if (saved.type === "message") pendingLine(item);
    });
  }

  applyConfig();
  buildStars();
  wire();
  if (chat.token) {
    librarian = chat.librarian || "";
    state = chat.state || "active";
    setState(state, { quiet: true });
    restoreOutbox();
    connect();
  } else {
    begin();
  }
})();
