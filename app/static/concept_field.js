/* Framework concept pickers outside the skill form (app/frameworks has that one): the CV's target
 * occupation and an achievement's alignments. Each element [data-concept-field] holds a text input, a
 * listbox, and either a hidden input (data-mode="single": the chosen concept's URI; typing again clears
 * it) or a textarea to append a line to (data-mode="append": "label | URI | framework"). Suggestions come
 * from the frameworks' own autocomplete route (data-suggest), limited to data-kind kinds. Without this
 * script, the text typed is resolved by the server (the CV page) or a concept URI is pasted (alignments). */
(function () {
  "use strict";
  document.querySelectorAll("[data-concept-field]").forEach(function (box, boxIndex) {
    var input = box.querySelector("input[type=search], input[type=text]");
    var list = box.querySelector("[role=listbox]");
    var form = box.closest("form");
    var target = form.querySelector("[name='" + box.dataset.target + "']");
    var kinds = (box.dataset.kind || "").split(" ").filter(Boolean);
    var timer = null, active = -1, seq = 0;
    if (!input || !list || !target) { return; }
    input.hidden = false;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");

    function close() {
      list.hidden = true;
      list.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(concept) {
      if (box.dataset.mode === "append") {
        var line = [concept.label, concept.uri, concept.framework].join(" | ");
        target.value = target.value.replace(/\s+$/, "") + (target.value.trim() ? "\n" : "") + line;
        input.value = "";
      } else {
        target.value = concept.uri;
        input.value = concept.label;
      }
      close();
    }

    function show(concepts) {
      list.textContent = "";
      concepts.forEach(function (concept, index) {
        var option = document.createElement("li");
        option.id = "concept-field-" + boxIndex + "-" + index;
        option.setAttribute("role", "option");
        option.textContent = concept.label + " — " + concept.framework;
        option.concept = concept;
        option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(concept); });
        list.appendChild(option);
      });
      list.hidden = concepts.length === 0;
      input.setAttribute("aria-expanded", concepts.length ? "true" : "false");
    }

    function fetchKind(q, kind) {
      var url = box.dataset.suggest + "?q=" + encodeURIComponent(q) + (kind ? "&kind=" + kind : "");
      return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : []; });
    }

    input.addEventListener("input", function () {
      if (box.dataset.mode !== "append") { target.value = ""; }  // the URI no longer matches the text
      window.clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      timer = window.setTimeout(function () {
        var mine = ++seq;
        Promise.all((kinds.length ? kinds : [""]).map(function (kind) { return fetchKind(q, kind); }))
          .then(function (lists) {
            if (mine === seq) { show([].concat.apply([], lists).slice(0, 12)); }
          }).catch(close);
      }, 200);
    });
    input.addEventListener("keydown", function (event) {
      var options = list.querySelectorAll("[role=option]");
      if ((event.key === "ArrowDown" || event.key === "ArrowUp") && options.length) {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
        options.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
        input.setAttribute("aria-activedescendant", options[active].id);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(options[active].concept);
      } else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 100); });
  });
}());
