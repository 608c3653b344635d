/*
 * The verification page, progressively enhanced (everything works without this file):
 * - "Check an e-mail address": the salted SHA-256 is computed here with WebCrypto, so the address
 *   never leaves the page. md5$ hashes (which WebCrypto lacks) and browsers without WebCrypto keep the
 *   plain form, which the server answers without storing anything.
 * - Date-times of the credential are rewritten in the reader's own time zone and language.
 */
(function () {
  "use strict";

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  function sha256(text) {
    return window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(hex);
  }

  document.querySelectorAll("form[data-recipient-check]").forEach(function (form) {
    var stored = (form.dataset.hash || "").split("$");
    if (!window.crypto || !window.crypto.subtle || stored.length !== 2 || stored[0].toLowerCase() !== "sha256") {
      return;  // the server compares instead
    }
    var expected = stored[1].toLowerCase();
    var salt = form.dataset.salt || "";
    var input = form.querySelector("input[name=email]");
    var output = form.querySelector("[role=status]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var typed = input.value.trim();
      if (!typed) {
        input.focus();
        return;
      }
      // As badges.identity: the address lower-cased, and also exactly as typed.
      var candidates = [typed.toLowerCase(), typed];
      Promise.all(candidates.map(function (c) { return sha256(c + salt); })).then(function (hashes) {
        var match = hashes.indexOf(expected) !== -1;
        output.textContent = match ? form.dataset.match : form.dataset.noMatch;
        output.dataset.match = match ? "true" : "false";
      });
    });
  });

  // After a verification, the verdict is what the reader came for: bring it into view and focus.
  var verdict = document.getElementById("verification-verdict");
  if (verdict) {
    verdict.focus();
  }

  var lang = document.documentElement.lang || undefined;
  var format;
  try {
    format = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" });
  } catch (error) {
    format = null;
  }
  if (format) {
    document.querySelectorAll("time[data-local-time]").forEach(function (time) {
      var moment = new Date(time.getAttribute("datetime"));
      if (!isNaN(moment.getTime())) {
        time.textContent = format.format(moment);
      }
    });
  }
})();
