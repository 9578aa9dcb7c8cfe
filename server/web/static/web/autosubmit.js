// Selects marked data-autosubmit send their form on change (no inline handlers: the
// Content-Security-Policy allows only scripts from this server).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});
