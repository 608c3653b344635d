/*
 * The bulk-award progress page, progressively enhanced: without this file the page reloads itself
 * every 3 seconds (<noscript> refresh); with it, the bar follows the JSON endpoint every second and the
 * page reloads once, when the batch is finished, to show the full report.
 */
(function () {
  "use strict";
  var box = document.querySelector("[data-bulk-progress]");
  if (!box || box.dataset.status === "done" || !window.fetch) {
    return;
  }
  var bar = box.querySelector("progress");
  function show(data) {
    bar.max = data.total;
    bar.value = data.done + data.failed;
    ["percent", "done", "failed", "pending"].forEach(function (name) {
      var field = box.querySelector("[data-field=" + name + "]");
      if (field) { field.textContent = data[name]; }
    });
  }
  function poll() {
    fetch(box.dataset.bulkProgress, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        show(data);
        if (data.status === "done") { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
