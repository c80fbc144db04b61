/* The one-<script> embed: a "Chat with a librarian" button that opens a panel holding
 * the desk's /chat page in an iframe. A library adds to any page:
 *   <script src="https://desk.example.edu/widget.js" async></script>
 * Before it shows anything it asks the desk for /widget-config.json (CORS): the desk
 * answers only pages from its [widget] allowed_origins, so on any other site the embed
 * shows nothing and says why in the browser's console (for the library's web person).
 * The panel stays open across the site's pages (sessionStorage), and the chat inside
 * resumes by itself. Nothing here touches the page beyond its own two elements.
 */
(function () {
  "use strict";
  if (window.__libchatWidget) return;
  window.__libchatWidget = true;

  var OPEN_KEY = "libchat-widget-open";
  var script = document.currentScript;
  var base = new URL(script && script.src ? script.src : location.href);
  var desk = base.origin;
  var PREFIX = "libchat widget: ";

  function warn(text) {
    if (window.console && console.warn) console.warn(PREFIX + text);
  }

  fetch(desk + "/widget-config.json", { mode: "cors", credentials: "omit", cache: "no-cache" })
    .then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; },
                                  function () { return { status: response.status, body: null }; });
    })
    .then(function (reply) {
      if (reply.status === 403 && reply.body && reply.body.error === "origin_not_allowed") {
        warn("not shown on this page: its origin " + location.origin + " is not in [widget] allowed_origins " +
             "of the chat desk at " + desk + ". Add \"" + location.origin + "\" to allowed_origins in the " +
             "desk's config.toml and restart the desk.");
      } else if (reply.status !== 200 || !reply.body || typeof reply.body !== "object") {
        warn("not shown: the chat desk at " + desk + " answered HTTP " + reply.status + " for its settings.");
      } else {
        start(reply.body);
      }
    }, function () {
      warn("not shown: could not reach the chat desk at " + desk + " (or it refused this origin, " +
           location.origin + "; see [widget] allowed_origins in the desk's config.toml).");
    });

  function start(CONFIG) {
    var S = CONFIG.strings || {};

    function t(key, vars) {
      var text = Object.prototype.hasOwnProperty.call(S, key) ? S[key] : key;
      return String(text).replace(/\{(\w+)\}/g, function (m, name) {
        return vars && Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
      });
    }

    function css(el, styles) { Object.keys(styles).forEach(function (k) { el.style.setProperty(k, styles[k]); }); }

    var primary = CONFIG.primary_colour || "#1d4f91";
    var onPrimary = CONFIG.text_colour || "#ffffff";

    var button = document.createElement("button");
    button.type = "button";
    button.id = "libchat-launcher";
    button.textContent = t("launcher");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "libchat-panel");
    css(button, {
      position: "fixed", right: "16px", bottom: "16px", "z-index": "2147483000",
      background: primary, color: onPrimary, border: "2px solid " + onPrimary, "border-radius": "24px",
      padding: "10px 18px", font: "600 16px system-ui, sans-serif", cursor: "pointer",
      "box-shadow": "0 2px 8px rgba(0,0,0,.35)", "max-width": "calc(100vw - 32px)",
    });

    var panel = document.createElement("div");
    panel.id = "libchat-panel";
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", t("panel_title", { library: CONFIG.library_name }));
    panel.hidden = true;
    css(panel, {
      position: "fixed", right: "16px", bottom: "72px", "z-index": "2147483000",
      width: "min(380px, calc(100vw - 16px))", height: "min(600px, calc(100vh - 88px))",
      background: "#fff", border: "1px solid #6b6b6b", "border-radius": "8px", overflow: "hidden",
      "box-shadow": "0 4px 16px rgba(0,0,0,.35)",
    });

    var frame = null;

    function setOpen(open) {
      if (open && !frame) {
        frame = document.createElement("iframe");
        frame.title = t("panel_title", { library: CONFIG.library_name });
        // The embedding page's address rides in the fragment: it never reaches a server log.
        // A page may name the department its chats go to: <script ... data-department="Law library">.
        var department = script && script.getAttribute("data-department");
        frame.src = desk + "/chat?embed=1#page=" + encodeURIComponent(location.href.slice(0, 2000)) +
          (department ? "&department=" + encodeURIComponent(department.slice(0, 100)) : "");
        frame.setAttribute("allow", "clipboard-write");
        css(frame, { border: "0", width: "100%", height: "100%", display: "block" });
        panel.appendChild(frame);
      }
      panel.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? t("launcher_close") : t("launcher");
      try {
        if (open) sessionStorage.setItem(OPEN_KEY, "1");
        else sessionStorage.removeItem(OPEN_KEY);
      } catch (e) { /* storage blocked */ }
      if (open && frame) frame.focus();
    }

    button.addEventListener("click", function () { setOpen(panel.hidden); });
    window.addEventListener("message", function (ev) {
      if (ev.origin !== desk || !frame || ev.source !== frame.contentWindow) return;
      if (ev.data && ev.data.libchat === "minimize") { setOpen(false); button.focus(); }
    });

    function mount() {
      document.body.appendChild(panel);
      document.body.appendChild(button);
      var wasOpen = false;
      try { wasOpen = sessionStorage.getItem(OPEN_KEY) === "1"; } catch (e) { wasOpen = false; }
      if (wasOpen) setOpen(true);
    }

    if (document.body) mount();
    else document.addEventListener("DOMContentLoaded", mount);
  }
})();
