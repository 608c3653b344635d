/*
 * The vault's upload form, progressively enhanced (without this file the form posts every file at once
 * to /vault/upload and the page answers):
 * - files chosen in the input, or dropped on the form, are sent one by one with XMLHttpRequest (for its
 *   upload progress events) as the raw request body to the form's data-endpoint, with the CSRF token in
 *   the X-CSRFToken header; each file gets its own line with a <progress> bar and, at the end, "Added"
 *   with a link to the document, or the server's message in plain words;
 * - when all are done, the gauge and the list are refreshed from the page itself (no reload, so the
 *   progress lines stay readable), and a summary (how many were added, and why any was not) is
 *   announced to screen readers through the form's role=status line.
 * Texts come translated from the form's data-text-* attributes. No inline script, no eval: CSP 'self'.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-vault-upload]");
  if (!form || !window.XMLHttpRequest || !window.FormData || !("upload" in new XMLHttpRequest())) {
    return;
  }
  var input = form.querySelector("input[type=file]");
  var tagsInput = form.querySelector("input[name=tags]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var progressList = form.querySelector("[data-vault-progress]");
  var status = form.querySelector("[data-vault-status]");
  var drop = form.querySelector("[data-vault-drop]");
  var dropHint = form.querySelector("[data-vault-drop-hint]");
  var button = form.querySelector("button[type=submit]");
  var text = form.dataset;
  var busy = false;
  var failures = [];

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? values[key] : whole;
    });
  }

  function line(file) {
    var item = document.createElement("li");
    item.className = "vault-progress-item";
    var name = document.createElement("span");
    name.className = "vault-progress-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    var state = document.createElement("span");
    state.className = "vault-progress-state";
    state.textContent = text.textWaiting;
    item.append(name, bar, state);
    progressList.append(item);
    return { item: item, bar: bar, state: state };
  }

  function finish(row, ok, message, url) {
    row.item.classList.add(ok ? "vault-progress-done" : "vault-progress-failed");
    row.state.textContent = message;
    if (ok) {
      row.bar.value = 100;
      if (url) {
        var link = document.createElement("a");
        link.href = url;
        link.textContent = text.textOpen;
        link.setAttribute("aria-label", text.textOpen + " " + row.bar.getAttribute("aria-label"));
        row.state.append(" ", link);
      }
    } else {
      row.bar.removeAttribute("value");
      row.bar.hidden = true;
    }
  }

  // A refusal is shown on the file's line and kept for the summary read out at the end.
  function fail(row, message) {
    finish(row, false, text.textFailed + " " + message);
    failures.push(message);
    return false;
  }

  function send(file, row) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      var url = text.endpoint + "?name=" + encodeURIComponent(file.name);
      var tags = tagsInput ? tagsInput.value.trim() : "";
      if (tags) {
        url += "&tags=" + encodeURIComponent(tags);
      }
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable && event.total > 0) {
          var percent = Math.floor(event.loaded / event.total * 100);
          row.bar.value = Math.min(percent, 99);  // 100 only once the server has stored it
          row.state.textContent = fill(text.textSending, { percent: percent + " %" });
        }
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (error) {
          body = null;
        }
        if (xhr.status === 201 && body && body.url) {
          finish(row, true, text.textDone, body.url);
          resolve(true);
        } else {
          resolve(fail(row, body && body.message ? body.message : text.textUnexpected));
        }
      });
      xhr.addEventListener("error", function () {
        resolve(fail(row, text.textNetwork));
      });
      row.state.textContent = fill(text.textSending, { percent: "0 %" });
      xhr.send(file);
    });
  }

  // Refresh the gauge and the list from a fresh copy of the page, keeping the progress lines.
  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-vault-region]").forEach(function (region) {
          var replacement = fresh.querySelector('[data-vault-region="' + region.dataset.vaultRegion + '"]');
          if (replacement) {
            region.replaceWith(document.importNode(replacement, true));
          }
        });
      })
      .catch(function () { /* the list is refreshed on the next visit */ });
  }

  function uploadAll(files) {
    if (busy || !files.length) {
      return;
    }
    busy = true;
    button.disabled = true;
    progressList.hidden = false;
    progressList.textContent = "";
    status.textContent = "";
    failures = [];
    var rows = Array.prototype.map.call(files, line);
    var done = 0;
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file, index) {
      chain = chain.then(function () {
        return send(file, rows[index]).then(function (ok) { done += ok ? 1 : 0; });
      });
    });
    chain.then(refresh).then(function () {
      status.textContent = [fill(text.textSummary, { done: done, total: files.length })].concat(failures).join(" ");
      form.dataset.uploadState = "finished";
      input.value = "";
      busy = false;
      button.disabled = false;
    });
  }

  form.addEventListener("submit", function (event) {
    if (!input.files || !input.files.length) {
      return;  // the browser's own "please choose a file", or the server's message
    }
    event.preventDefault();
    uploadAll(Array.prototype.slice.call(input.files));
  });

  if (drop && "ondrop" in drop) {
    if (dropHint) {
      dropHint.hidden = false;
    }
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) {
        event.preventDefault();
        drop.classList.add("vault-drop-active");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () {
        drop.classList.remove("vault-drop-active");
      });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) {
        uploadAll(Array.prototype.slice.call(files));
      }
    });
  }
}());
