/* The one framework concept picker (app/templates/macros/concept_picker.html). Every element
 * [data-concept-picker] on the page holds a text input (role combobox), a listbox, and names a target
 * field of its form (data-target). Two letters typed fetch suggestions from data-suggest (fw's
 * /frameworks/suggest), limited to the kinds of data-kind (space-separated, optional). Choosing one
 * (mouse, or arrows + Enter; Escape closes) acts by data-mode:
 *   "single": the target gets the concept's URI, the input its label; also data-framework-field and
 *             data-name-field (filled only when empty); with data-clear, typing again empties the target;
 *   "line":   a line "label | URI | framework" is appended to the target textarea (alignments);
 *   "uri":    the URI is appended on a line of its own, once, to the target textarea (feed).
 * Without JavaScript the search input stays hidden (unless it is a form field itself) and the page's
 * plain field or link does the job. Each box is bound once even if the script is included twice. */
(function () {
  "use strict";
  document.querySelectorAll("[data-concept-picker]").forEach(function (box, boxIndex) {
    if (box.dataset.bound) { return; }
    var input = box.querySelector("input[type=search], input[type=text]");
    var list = box.querySelector("[role=listbox]");
    var form = box.closest("form");
    function fieldNamed(name) { return name && form ? form.querySelector("[name='" + name + "']") : null; }
    var target = fieldNamed(box.dataset.target);
    var kinds = (box.dataset.kind || "").split(" ").filter(Boolean);
    var mode = box.dataset.mode || "single";
    var timer = null, active = -1, seq = 0;
    if (!input || !list || !target || !box.dataset.suggest) { return; }
    box.dataset.bound = "1";
    input.hidden = false;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function close() {
      list.hidden = true;
      list.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(concept) {
      if (mode === "line") {
        var line = [concept.label, concept.uri, concept.framework].join(" | ");
        target.value = target.value.replace(/\s+$/, "") + (target.value.trim() ? "\n" : "") + line;
        input.value = "";
      } else if (mode === "uri") {
        var lines = target.value.split(/\s+/).filter(function (l) { return l; });
        if (lines.indexOf(concept.uri) < 0) { lines.push(concept.uri); }
        target.value = lines.join("\n");
        input.value = "";
      } else {
        var framework = fieldNamed(box.dataset.frameworkField);
        var name = fieldNamed(box.dataset.nameField);
        target.value = concept.uri;
        if (framework) { framework.value = concept.framework.slice(0, 120); }
        if (name && !name.value) { name.value = concept.label.slice(0, 200); }
        input.value = concept.label;
      }
      close();
    }

    function show(concepts) {
      list.textContent = "";
      concepts.forEach(function (concept, index) {
        var option = document.createElement("li");
        option.id = list.id + "-" + boxIndex + "-" + index;
        option.setAttribute("role", "option");
        option.textContent = concept.label + " — " + concept.framework;
        option.concept = concept;
        option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(concept); });
        list.appendChild(option);
      });
      list.hidden = concepts.length === 0;
      input.setAttribute("aria-expanded", concepts.length ? "true" : "false");
    }

    input.addEventListener("input", function () {
      if (mode === "single" && box.hasAttribute("data-clear")) { target.value = ""; }
      window.clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      timer = window.setTimeout(function () {
        var mine = ++seq;
        var url = box.dataset.suggest + (box.dataset.suggest.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q)
          + kinds.map(function (kind) { return "&kind=" + encodeURIComponent(kind); }).join("");
        fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (concepts) { if (mine === seq) { show(concepts); } })
          .catch(close);
      }, 150);
    });
    input.addEventListener("keydown", function (event) {
      var options = list.querySelectorAll("[role=option]");
      if ((event.key === "ArrowDown" || event.key === "ArrowUp") && options.length) {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
        options.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
        input.setAttribute("aria-activedescendant", options[active].id);
      } else if (event.key === "Enter" && (active >= 0 || input.type === "search")) {
        event.preventDefault();  // a search box never submits the form
        if (active >= 0) { choose(options[active].concept); }
      } else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 100); });
  });
}());
