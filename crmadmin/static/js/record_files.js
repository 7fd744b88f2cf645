// Files on records: a delete asks first (the question is in the form's data-confirm, in the user's language).
document.querySelectorAll("form[data-confirm]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
});

// The chosen file's name in the file box, as Bootstrap's custom file input expects its script to do.
document.querySelectorAll(".record-file-upload .custom-file-input").forEach(function (input) {
  input.addEventListener("change", function () {
    var label = input.parentElement.querySelector(".custom-file-label");
    if (input.files.length) {
      label.textContent = input.files[0].name;
    }
  });
});
