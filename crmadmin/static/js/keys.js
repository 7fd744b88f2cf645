/* A list's keyboard keys (issue 28): "/" puts the cursor in the list's search box, "n" opens the form for a new
   record where the user may create one; neither while typing in a field or with a dialog open (Esc closes dialogs,
   Enter in a field saves its form: the browser's and Bootstrap's own). The columns dialog's up and down buttons
   move a column, keeping the focus on the moved button. Loaded by admin/_list_tools.html; no inline script (CSP). */
(function () {
  "use strict";
  var script = document.currentScript;
  var tools = document.querySelector(".crm-list-tools");
  var search = document.querySelector("form[role=search] input[name=search], input[name=search]");
  var createUrl = tools && tools.getAttribute("data-create-url");

  function hint(element, key, words) {
    if (!element) { return; }
    element.setAttribute("aria-keyshortcuts", key);
    if (words) { element.setAttribute("title", words); }
  }

  hint(search, "/", script && script.getAttribute("data-search"));
  if (createUrl) {
    var links = document.querySelectorAll(".nav-tabs a.nav-link");
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute("href") === createUrl) { hint(links[i], "n", script.getAttribute("data-create")); }
    }
  }

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  /* a dialog opens with the cursor in its first box (the view's name); Esc closes it wherever the focus is */
  if (window.jQuery) {
    window.jQuery(document).on("shown.bs.modal", ".crm-list-tools .modal", function () {
      var first = this.querySelector("[data-autofocus]");
      if (first) { first.focus(); }
    });
  }
  document.addEventListener("keydown", function (event) {
    var open = document.querySelector(".crm-list-tools .modal.show");
    if (event.key === "Escape" && open && window.jQuery) { window.jQuery(open).modal("hide"); return; }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (document.querySelector(".modal.show, .select2-drop-active, .flatpickr-calendar.open")) { return; }
    if (event.key === "/" && search) {
      event.preventDefault();
      search.focus();
      search.select();
    } else if ((event.key === "n" || event.key === "N") && !event.shiftKey && createUrl) {
      event.preventDefault();
      window.location.assign(createUrl);
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-move]") : null;
    if (!button) { return; }
    var item = button.closest("li");
    var other = button.getAttribute("data-move") === "up" ? item.previousElementSibling : item.nextElementSibling;
    if (!other) { return; }
    item.parentNode.insertBefore(item, button.getAttribute("data-move") === "up" ? other : other.nextSibling);
    button.focus();
  });
})();
