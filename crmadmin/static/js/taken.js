/* The customer form's live check (admin/customers.py taken_view): while the clerk types a mobile or e-mail, say
   whether another customer has it, in the server's own words (a link, or only whose customer it is). The check on
   save stays the rule; this only says it earlier. */
(function () {
  "use strict";
  var script = document.currentScript;
  var form = document.querySelector("form.admin-form");
  if (!script || !form || !window.fetch) { return; }
  var token = form.querySelector("input[name=csrf_token]");
  ["mobile", "email"].forEach(function (name) {
    var input = form.querySelector("#" + name);
    if (!input) { return; }
    var note = document.createElement("div");
    note.className = "crm-taken small";
    note.setAttribute("aria-live", "polite");
    var hint = input.nextElementSibling;  /* below the limit's hint line, above any error of the last save */
    while (hint && !hint.matches("small.form-text")) { hint = hint.nextElementSibling; }
    (hint || input).insertAdjacentElement("afterend", note);
    var timer = null, asked = input.value;
    function check() {
      var value = input.value.trim();
      if (value === asked) { return; }
      asked = value;
      if (!value) { note.innerHTML = ""; return; }
      var body = new URLSearchParams();
      body.set(name, value);
      if (script.dataset.id) { body.set("id", script.dataset.id); }
      fetch(script.dataset.url, {method: "POST", body: body, credentials: "same-origin",
                                 headers: {"X-CSRFToken": token ? token.value : ""}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (!answer || asked !== value) { return; }
          note.innerHTML = answer[name] && answer[name].taken ? answer[name].message : "";  /* escaped by the server */
        })
        .catch(function () { /* the check on save still runs */ });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 600); });
    input.addEventListener("change", check);
  });
})();
