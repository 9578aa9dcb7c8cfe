// Review queue keys (no inline handlers: the Content-Security-Policy allows only scripts
// from this server): j / k move to the next / previous laptop, 1-9 pick a destination in
// the focused row, Enter in the row decides. Without this script the forms work as they are.
(function () {
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.queue-row")); }
  function current() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("tr.queue-row") : null;
  }
  function focusRow(row) {
    if (!row) { return; }
    var select = row.querySelector("select[name=destination]");
    (select || row).focus();
    row.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) { return; }
    var all = rows();
    var row = current();
    var at = row ? all.indexOf(row) : -1;
    if (event.key === "j") { focusRow(all[at + 1]); event.preventDefault(); }
    else if (event.key === "k") { focusRow(all[Math.max(0, at - 1)]); event.preventDefault(); }
    else if (row && /^[1-9]$/.test(event.key)) {
      var option = row.querySelector('option[data-key="' + event.key + '"]');
      if (option) { option.selected = true; event.preventDefault(); }
    }
  });
})();
