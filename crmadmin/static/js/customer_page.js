/* The customer's page (templates/admin/customer_details.html): a copy button beside the mobile and the e-mail puts
   the value on the clipboard and says so for a moment, in the button's own words (data-done). */
(function () {
  "use strict";
  function fallbackCopy(text) {
    var box = document.createElement("textarea");
    box.value = text;
    box.setAttribute("readonly", "");
    box.style.position = "fixed";
    box.style.opacity = "0";
    document.body.appendChild(box);
    box.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(box);
  }
  function said(button) {
    var note = button.querySelector(".crm-copied");
    if (!note) {
      note = document.createElement("span");
      note.className = "crm-copied small";
      note.setAttribute("role", "status");
      button.appendChild(note);
    }
    note.textContent = " " + button.dataset.done;
    window.setTimeout(function () { note.textContent = ""; }, 2000);
  }
  document.querySelectorAll("button.crm-copy[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.dataset.copy;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { said(button); },
                                                  function () { fallbackCopy(text); said(button); });
      } else {
        fallbackCopy(text);
        said(button);
      }
    });
  });
}());
