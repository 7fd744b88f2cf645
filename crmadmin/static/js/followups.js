/* The follow-up list's dialog (issue 28): a row's "Log contact" or "Reschedule" button opens its form over the list,
 * the same form, checks and messages as its own page (admin/followups.py, templates/admin/followup_dialog.html),
 * sent through the same view with the page's CSRF token. On success the row takes its new due date, or leaves the
 * list shown when the date is past it, the tabs' counts change, and a polite status says what was saved. Without
 * script the buttons are links to the forms' pages. Static file, no inline script (CSP). The dialog: role=dialog,
 * modal (the page behind is inert), Tab stays inside, Esc closes (after the date picker's own Esc), focus returns to
 * the row.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var failedText = (script && script.dataset.failed) || "";
  var HEADER = "X-CRM-Dialog";
  var backdrop = document.getElementById("follow-up-dialog-backdrop");
  var dialog = document.getElementById("follow-up-dialog");
  var status = document.getElementById("follow-up-status");
  if (!backdrop || !dialog || !window.fetch) return;  // the links then open the forms' pages
  var body = dialog.querySelector(".crm-dialog-body");
  var opener = null, url = null, inerted = [];

  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled])," +
                  " textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

  function focusables() {
    return Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetWidth > 0 || el.offsetHeight > 0 || el === document.activeElement;
    });
  }

  function say(message, failed) {
    status.textContent = "";
    status.className = "crm-status alert " + (failed ? "alert-danger" : "alert-success");
    window.setTimeout(function () { status.textContent = message; }, 50);  // a change, so that it is read out
  }

  function show(html) {
    body.innerHTML = html;
    var form = body.querySelector("form");
    if (form) form.addEventListener("submit", submit);
    body.querySelectorAll(".crm-dialog-close").forEach(function (b) { b.addEventListener("click", close); });
    if (backdrop.hidden) {
      backdrop.hidden = false;
      document.body.classList.add("crm-dialog-open");
      inerted = Array.prototype.filter.call(document.body.children, function (el) {
        return el !== backdrop && el !== status && !el.classList.contains("flatpickr-calendar") && !el.inert;
      });
      inerted.forEach(function (el) { el.inert = true; });
    }
    var first = body.querySelector("[aria-invalid=true]") || body.querySelector(".follow-up-error") ||
                body.querySelector("select, textarea, input:not([type=hidden])");
    if (first) {
      if (!first.matches("input, select, textarea")) first.setAttribute("tabindex", "-1");
      first.focus();
    } else {
      dialog.focus();
    }
  }

  function close() {
    if (backdrop.hidden) return;
    body.querySelectorAll("input[data-picker]").forEach(function (input) {
      if (input._flatpickr) input._flatpickr.destroy();
    });
    backdrop.hidden = true;
    body.innerHTML = "";
    document.body.classList.remove("crm-dialog-open");
    inerted.forEach(function (el) { el.inert = false; });
    inerted = [];
    var back = opener && document.contains(opener) ? opener : document.querySelector("h1, main");
    if (back) {
      if (!back.matches("a, button")) back.setAttribute("tabindex", "-1");
      back.focus();
    }
  }

  function request(method, data) {
    var headers = {};
    headers[HEADER] = "1";
    return window.fetch(url, {method: method, body: data, headers: headers, credentials: "same-origin"});
  }

  function open(event) {
    var link = event.target.closest("a[data-dialog]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button > 0) return;
    event.preventDefault();
    opener = link;
    url = link.href;
    request("GET").then(function (response) {
      // signed out meanwhile (the sign-in page), refused or not found: the page itself says so
      if (!response.ok || response.redirected) throw new Error(String(response.status));
      return response.text();
    }).then(show).catch(function () { window.location.href = link.href; });  // the page says what went wrong
  }

  function moved(outcome) {
    var row = opener && opener.closest("tr");
    close();
    if (row && !outcome.stays) {
      var next = row.nextElementSibling || row.previousElementSibling;
      var button = next && next.querySelector("a[data-dialog]");
      row.parentNode.removeChild(row);
      if (button) { opener = button; button.focus(); }
    } else if (row) {
      Object.keys(outcome.cells).forEach(function (name) {
        var cell = row.querySelector("td.col-" + name);
        if (!cell) return;
        cell.innerHTML = outcome.cells[name];
        if (cell.hasAttribute("title")) cell.setAttribute("title", cell.textContent.trim());
      });
    }
    counted(outcome.counts || {});
    say(outcome.message, false);
  }

  function counted(counts) {
    // the tabs' counts after the save; the tab list is aria-live polite, so the change is read out
    Object.keys(counts).forEach(function (bucket) {
      var badge = document.querySelector(".follow-up-buckets a[data-bucket='" + bucket + "'] .badge");
      if (badge && badge.textContent !== counts[bucket]) badge.textContent = counts[bucket];
    });
  }

  function submit(event) {
    event.preventDefault();
    var form = event.target;
    if (form.dataset.sending) return;  // one click (or Enter), one contact
    form.dataset.sending = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    request("POST", new FormData(form)).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return (json ? response.json() : response.text()).then(function (content) {
        if (response.redirected) {
          throw new Error("redirected");  // signed out meanwhile: nothing was saved
        } else if (json && response.ok) {
          moved(content);
        } else if (json) {
          problem(form, button, content.message);  // the database refused: the entries stay, to try again
        } else if (response.status === 422 || response.status === 409) {
          show(content);  // the form again, its errors marked, in the user's language
        } else {
          throw new Error(String(response.status));
        }
      });
    }).catch(function () { problem(form, button, failedText); });
  }

  function problem(form, button, message) {
    delete form.dataset.sending;
    if (button) button.disabled = false;
    var note = body.querySelector(".follow-up-error") || document.createElement("div");
    note.className = "alert alert-danger follow-up-error";
    note.setAttribute("role", "alert");
    note.textContent = message || failedText;
    if (!note.parentNode) form.parentNode.insertBefore(note, form);
  }

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !event.defaultPrevented) {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      var items = focusables();
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  dialog.querySelector(".crm-dialog-x").addEventListener("click", close);
  backdrop.addEventListener("mousedown", function (event) { if (event.target === backdrop) close(); });
  document.addEventListener("click", open);
}());
