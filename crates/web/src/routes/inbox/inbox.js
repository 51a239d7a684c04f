// careloop's inbox in the browser: live updates and keyboard shortcuts, nothing else.
// Pages work without it; with it, a page fetches itself again when the server says a
// conversation changed, and swaps in its live parts (marked data-live) unless the
// person is typing in one.
(function () {
  "use strict";

  var current = document.querySelector("[data-patient]");
  var patient = current ? current.getAttribute("data-patient") : null;
  var pending = false;

  function busy(element) {
    var active = document.activeElement;
    return active && active !== document.body && element.contains(active) &&
      /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
  }

  function refresh() {
    if (pending) { return; }
    pending = true;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        pending = false;
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          var replacement = fresh.getElementById(old.id);
          if (replacement && !busy(old)) {
            old.replaceWith(document.importNode(replacement, true));
          }
        });
      })
      .catch(function () { pending = false; });
  }

  if (window.EventSource && document.querySelector("[data-live]")) {
    var events = new EventSource("/inbox/events");
    events.addEventListener("conversation", function (event) {
      if (patient === null || event.data === patient || event.data === "*") {
        refresh();
      }
    });
  }

  // A saved reply chosen goes into the answer box at once, to be read and sent.
  var saved = document.getElementById("saved");
  var reply = document.getElementById("reply");
  if (saved && reply) {
    saved.addEventListener("change", function () {
      var option = saved.options[saved.selectedIndex];
      var text = option ? option.getAttribute("data-text") : null;
      if (!text) { return; }
      reply.value = reply.value ? reply.value + "\n" + text : text;
      saved.selectedIndex = 0;
      reply.focus();
    });
  }

  // A key alone, outside a field: the control marked data-key with it.
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var active = document.activeElement;
    if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) {
      if (event.key === "Escape") { active.blur(); }
      return;
    }
    var target = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (!target) { return; }
    event.preventDefault();
    if (target.tagName === "FORM") {
      target.requestSubmit();
    } else {
      target.focus();
    }
  });
})();
