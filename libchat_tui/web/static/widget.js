/* The one-<script> embed: a "Chat with a librarian" button that opens a panel holding
 * the desk's /chat page in an iframe. A library adds to any page:
 *   <script src="https://desk.example.edu/widget.js" async></script>
 * The panel stays open across the site's pages (sessionStorage), and the chat inside
 * resumes by itself. Nothing here touches the page beyond its own two elements.
 */
(function () {
  "use strict";
  if (window.__libchatWidget) return;
  window.__libchatWidget = true;

  var CONFIG = /*LIBCHAT-CONFIG*/null || { library_name: "the library", strings: {} };
  var S = CONFIG.strings || {};
  var OPEN_KEY = "libchat-widget-open";
  var script = document.currentScript;
  var base = new URL(script && script.src ? script.src : location.href);
  var desk = base.origin;

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
})();
