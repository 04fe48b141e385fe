// HR pages: small progressive enhancements, no inline script (a strict CSP is coming).
// - [data-refresh="URL"][data-every="seconds"]: replace the element's content with URL's HTML
//   fragment every few seconds (present now, export progress); pauses while the tab is hidden.
// - form[data-autosubmit]: submit when a select changes (the button stays for no-JS use).
// - [data-confirm="question"] on a form: ask before a destructive action (ending a badge).
// - a[data-fill-target][data-fill-value]: put a value into an input (the "Fix" links).
(function () {
  "use strict";
  function refresh(el) {
    var url = el.getAttribute("data-refresh");
    var every = Math.max(2, parseInt(el.getAttribute("data-every") || "10", 10)) * 1000;
    function tick() {
      if (document.hidden) { return setTimeout(tick, every); }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) { el.innerHTML = html; }
          if (el.querySelector("[data-final]")) { return; }  // e.g. a finished export: stop polling
          setTimeout(tick, every);
        })
        .catch(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
    document.querySelectorAll("a[data-fill-target]").forEach(function (a) {
      a.addEventListener("click", function () {
        var input = document.getElementById(a.getAttribute("data-fill-target"));
        if (input) { input.value = a.getAttribute("data-fill-value"); input.focus(); }
      });
    });
  });
})();
// The same behaviours as attributes on the element itself (pages written before the ones above).
document.addEventListener("change", function (e) {
  if (e.target.matches("select[data-autosubmit]")) { e.target.form.submit(); }
});
document.addEventListener("click", function (e) {
  var a = e.target.closest("a[data-fix-at]");
  if (a) { document.getElementById("fix-at").value = a.getAttribute("data-fix-at"); }
});
