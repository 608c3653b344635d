// The "Credentials" section: a "Copy" button beside each share link (progressive enhancement: without
// JavaScript the link stays selectable in its read-only field).
(function () {
  "use strict";
  if (!navigator.clipboard) { return; }
  document.querySelectorAll("button.copy-link").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.dataset.label = button.dataset.label || button.textContent;
        button.textContent = "✓";
        setTimeout(function () { button.textContent = button.dataset.label; }, 1500);
      });
    });
  });
}());
