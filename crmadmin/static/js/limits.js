/* Text limits on every form (admin/limits.py): a count under each limited field, and no silent cut of a paste.
   A browser drops what a paste brings past maxlength without a word; here the whole paste is kept, counted in red,
   and the browser refuses to send the form until it is shortened (the server refuses it anyway). */
(function () {
  "use strict";
  function setup(input) {
    var max = parseInt(input.getAttribute("maxlength"), 10);
    if (!(max > 0)) { return; }
    var count = document.createElement("span");
    count.className = "crm-count";
    count.setAttribute("aria-live", "polite");
    var hint = input.nextElementSibling;  /* the limit's hint line (admin/limits.py), where the count goes */
    while (hint && !hint.matches("small.form-text")) { hint = hint.nextElementSibling; }
    if (!hint) {
      hint = document.createElement("small");
      hint.className = "form-text text-muted";
      input.insertAdjacentElement("afterend", hint);
    }
    hint.insertBefore(count, hint.firstChild);
    var message = input.getAttribute("data-too-long") || "";
    function update() {
      var length = input.value.length;
      count.textContent = length + " / " + max;
      var over = length > max;
      count.classList.toggle("crm-over", over);
      input.classList.toggle("crm-too-long", over);
      input.setCustomValidity(over ? message : "");
    }
    input.addEventListener("paste", function (event) {
      var text = (event.clipboardData || window.clipboardData).getData("text");
      var start = input.selectionStart, end = input.selectionEnd;
      if (start === null || input.value.length - (end - start) + text.length <= max) { return; }
      event.preventDefault();  /* set by script, the value is not cut at maxlength */
      input.value = input.value.slice(0, start) + text + input.value.slice(end);
      input.setSelectionRange(start + text.length, start + text.length);
      update();
      input.reportValidity();
    });
    input.addEventListener("input", update);
    update();
  }
  document.querySelectorAll("form.admin-form input[maxlength], form.admin-form textarea[maxlength]")
    .forEach(setup);
})();
