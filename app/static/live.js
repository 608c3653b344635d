/*
 * Pages that follow a background job (a roster import, a portfolio import or export, a framework import).
 *
 * Without JavaScript they reload themselves (<noscript><meta http-equiv="refresh">). A reload moves the
 * keyboard focus back to the top of the page, loses what was being typed in a form of the same page and
 * makes a screen reader start over: so, with this file, only the part of the page marked
 * [data-live-every="SECONDS"] is fetched again and swapped in, everything else (focus, typing, scrolling)
 * stays where it is. The region is aria-busy while the job runs, so that assistive technologies announce
 * its content once, when the job is finished, rather than every few seconds. The server renders the region
 * without data-live-every once nothing will change any more: polling stops there.
 */
(function () {
  "use strict";
  var region = document.querySelector("[data-live-every]");
  if (!region || !window.fetch || !window.DOMParser) {
    return;
  }
  var every = Math.max(1, parseInt(region.getAttribute("data-live-every"), 10) || 3) * 1000;
  region.setAttribute("aria-live", "polite");
  region.setAttribute("aria-busy", "true");

  function swap(fresh) {
    var focused = region.contains(document.activeElement) ? document.activeElement.id || true : null;
    region.innerHTML = fresh.innerHTML;
    Array.prototype.forEach.call(fresh.attributes, function (attribute) {  // e.g. data-status="done"
      region.setAttribute(attribute.name, attribute.value);
    });
    var busy = fresh.hasAttribute("data-live-every");
    if (!busy) {
      region.removeAttribute("data-live-every");
    }
    region.setAttribute("aria-busy", busy ? "true" : "false");
    if (focused) {  // a control of the region had the focus: the same control (by id), else the region
      var again = typeof focused === "string" && document.getElementById(focused);
      if (!again) {
        region.setAttribute("tabindex", "-1");
      }
      (again || region).focus();
    }
    return busy;
  }

  function poll() {
    fetch(window.location.href, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById(region.id);
        if (!fresh) {
          return Promise.reject("no region");
        }
        if (swap(fresh)) {
          window.setTimeout(poll, every);
        } else if (page.title) {
          document.title = page.title;
        }
      })
      .catch(function () { window.setTimeout(poll, every * 3); });  // offline, signed out: try less often
  }
  window.setTimeout(poll, every);
})();
