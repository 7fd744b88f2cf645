/* Names, errors and scrolling that Flask-Admin's widgets leave out (issue 31, WCAG 2.1 AA); loaded last on every
   admin page (admin/base.html), so jQuery-ready work of the other scripts (Select2, filters) has run before ours.
   Everything it names comes from the page's own (translated) text: labels, titles, placeholders. */
(function () {
  "use strict";
  var serial = 0;

  function idOf(element, prefix) {
    if (!element.id) { element.id = prefix + "-" + (++serial); }
    return element.id;
  }

  function text(element) { return element ? (element.textContent || "").replace(/\s+/g, " ").trim() : ""; }

  function labelFor(field) {
    if (!field || !field.id) { return null; }
    return document.querySelector("label[for='" + field.id.replace(/'/g, "\\'") + "']");
  }

  /* Select2 3.x: the focusable box is named by its chosen value alone ("link" when empty); name it by the field's
     label, hide the decorative <a> from the accessibility tree (it takes no Tab stop), name its search boxes. */
  function nameSelect2(container) {
    if (container.dataset.a11y) { return; }
    container.dataset.a11y = "1";
    var data = window.jQuery && window.jQuery(container).data("select2");
    var original = data && data.opts && data.opts.element ? data.opts.element[0]
      : (container.id && container.id.indexOf("s2id_") === 0 ? document.getElementById(container.id.slice(5)) : null);
    var label = labelFor(original);
    var name = label ? text(label) : (original && (original.getAttribute("aria-label") || original.getAttribute("placeholder")
      || original.getAttribute("data-placeholder") || original.getAttribute("title"))) || "";
    var choice = container.querySelector(".select2-choice");
    if (choice) { choice.setAttribute("aria-hidden", "true"); }
    container.querySelectorAll("input.select2-focusser, input.select2-input").forEach(function (input) {
      var chosen = container.querySelector(".select2-chosen");
      if (label) {
        input.setAttribute("aria-labelledby", idOf(label, "label") + (chosen && input.classList.contains("select2-focusser") ? " " + idOf(chosen, "chosen") : ""));
      } else if (name) {
        input.setAttribute("aria-label", name);
      }
    });
    var searchId = container.querySelector("input.select2-focusser");
    if (searchId) {
      var search = document.getElementById(searchId.id + "_search");
      if (search && name) { search.setAttribute("aria-label", name); }
    }
  }

  /* Icon-only links and buttons (row actions: eye, pencil, trash) are named by their title; the icon is decoration. */
  function nameIconOnly(control) {
    if (text(control) || control.getAttribute("aria-label")) { return; }
    var title = control.getAttribute("title");
    if (title) { control.setAttribute("aria-label", title); }
    control.querySelectorAll(".fa, .glyphicon").forEach(function (icon) { icon.setAttribute("aria-hidden", "true"); });
  }

  /* Controls with no label of their own: the search box and the list filters. */
  function nameBare(field) {
    if (field.getAttribute("aria-label") || field.getAttribute("aria-labelledby") || labelFor(field) || field.closest("label")) { return; }
    var name = field.getAttribute("placeholder") || field.getAttribute("title");
    var row = field.closest(".filters tr");
    if (row) {
      var filterName = text(row.querySelector("td:first-child")).replace(/^\u00d7\s*/, "");
      name = filterName + (field.classList.contains("filter-op") ? "" : (name ? ": " + name : ""));
    }
    if (name) { field.setAttribute("aria-label", name); }
  }

  /* Form errors: each tied to its field, the first field focused so that its error is read out. */
  function tieErrors(root) {
    var first = null;
    root.querySelectorAll("input.is-invalid, select.is-invalid, textarea.is-invalid").forEach(function (field) {
      var group = field.closest(".form-group") || field.parentNode;
      var feedback = group && group.querySelector(".invalid-feedback, .help-block.error, .form-text.text-danger");
      if (!feedback) { return; }
      feedback.setAttribute("role", "alert");
      var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      var id = idOf(feedback, "error");
      if (ids.indexOf(id) < 0) { ids.push(id); }
      field.setAttribute("aria-describedby", ids.join(" "));
      field.setAttribute("aria-invalid", "true");
      var select2 = field.id && document.getElementById("s2id_" + field.id);
      var focusser = select2 && select2.querySelector("input.select2-focusser, input.select2-input");
      if (focusser) {
        focusser.setAttribute("aria-describedby", ids.join(" "));
        focusser.setAttribute("aria-invalid", "true");
      }
      first = first || focusser || field;
    });
    return first;
  }

  /* Wide tables scroll inside their own box at 320 px; the box takes the focus only when it does scroll. */
  function scrollTables(root) {
    root.querySelectorAll("main table.table").forEach(function (table) {
      var box = table.parentNode;
      if (!box.classList.contains("table-responsive") && !box.classList.contains("crm-scroll")) {
        box = document.createElement("div");
        box.className = "crm-scroll";
        table.parentNode.insertBefore(box, table);
        box.appendChild(table);
      }
      box.classList.add("crm-scroll");
    });
    markScrolling();
  }

  function markScrolling() {
    document.querySelectorAll(".crm-scroll").forEach(function (box) {
      var table = box.querySelector("table");
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        var caption = table && (table.querySelector("caption") || table.getAttribute("aria-label"));
        var heading = caption ? null : box.previousElementSibling;
        var name = caption ? (typeof caption === "string" ? caption : text(caption))
          : (heading && /^H[1-6]$/.test(heading.tagName) ? text(heading) : document.title.split(" - ")[0]);
        box.setAttribute("aria-label", name);
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  function enhance(root) {
    root.querySelectorAll("form[role=search] input[name=search], .filters select, .filters input")
      .forEach(nameBare);  // first: a Select2 box takes its name from the control it stands for
    root.querySelectorAll(".select2-container").forEach(nameSelect2);
    root.querySelectorAll("a[title], button[title]").forEach(nameIconOnly);
    var main = document.getElementById("content");
    root.querySelectorAll("form[role=search] .input-group-text a:not([aria-label])").forEach(function (clear) {
      if (main && main.dataset.clearSearch) { clear.setAttribute("aria-label", main.dataset.clearSearch); }
      clear.querySelectorAll(".fa").forEach(function (icon) { icon.setAttribute("aria-hidden", "true"); });
    });  // the search box's x, which Flask-Admin leaves without a name
  }

  function start() {
    enhance(document);
    scrollTables(document);
    var first = tieErrors(document);
    if (first) { first.focus(); }
    new MutationObserver(function (changes) {
      var again = changes.some(function (change) { return change.addedNodes.length > 0; });
      if (again) { enhance(document); }
    }).observe(document.body, {childList: true, subtree: true});
    var resized = null;
    window.addEventListener("resize", function () {
      clearTimeout(resized);
      resized = setTimeout(markScrolling, 150);
    });
  }

  if (window.jQuery) { window.jQuery(start); } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else { start(); }
})();
