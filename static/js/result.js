// Result page: "Copy to note" (plain text for an EHR note) and "Print".
// A static file (no inline script), so a strict Content-Security-Policy can apply.
(function () {
  "use strict";

  function say(text) {
    var status = document.getElementById("copy-note-status");
    if (status) { status.textContent = text; }
  }

  function copyByselection(area) {
    var details = area.closest("details");
    var wasOpen = details ? details.open : true;
    if (details) { details.open = true; }
    area.focus();
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    if (details && !wasOpen && done) { details.open = false; }
    return done;
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var area = document.getElementById(copy.getAttribute("data-copy-target"));
      if (!area) { return; }
      var text = area.value;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { say("Copied: paste it into the note."); },
          function () { say(copyByselection(area) ? "Copied: paste it into the note." : "Select the text below and copy it."); }
        );
      } else {
        say(copyByselection(area) ? "Copied: paste it into the note." : "Select the text below and copy it.");
      }
      return;
    }
    if (event.target.closest("[data-print]")) { window.print(); }
  });
})();
