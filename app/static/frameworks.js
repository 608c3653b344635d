// The skill form's concept picker (app/frameworks/templates/frameworks/_picker.html): type two letters,
// choose a concept, and the form's framework and concept fields (and the name, if empty) are filled.
// Without JavaScript the search box stays hidden and the "Browse" link does the same job.
(function () {
  "use strict";
  var picker = document.querySelector(".concept-picker");
  if (!picker) { return; }
  var input = picker.querySelector("input[type=search]");
  var list = picker.querySelector("[role=listbox]");
  var form = picker.closest("form");
  var timer = null;
  var active = -1;
  input.hidden = false;

  function fieldNamed(name) { return form ? form.querySelector("[name='" + name + "']") : null; }

  function close() {
    list.hidden = true;
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function choose(concept) {
    var framework = fieldNamed(picker.dataset.frameworkField);
    var uri = fieldNamed(picker.dataset.uriField);
    var name = fieldNamed(picker.dataset.nameField);
    if (framework) { framework.value = concept.framework.slice(0, 120); }
    if (uri) { uri.value = concept.uri; }
    if (name && !name.value) { name.value = concept.label.slice(0, 200); }
    input.value = concept.label;
    close();
  }

  function show(concepts) {
    list.textContent = "";
    concepts.forEach(function (concept, index) {
      var option = document.createElement("li");
      option.id = "concept-option-" + index;
      option.setAttribute("role", "option");
      option.textContent = concept.label + " — " + concept.framework;
      option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(concept); });
      option.concept = concept;
      list.appendChild(option);
    });
    list.hidden = concepts.length === 0;
    input.setAttribute("aria-expanded", concepts.length ? "true" : "false");
  }

  function highlight(index) {
    var options = list.querySelectorAll("[role=option]");
    if (!options.length) { return; }
    active = (index + options.length) % options.length;
    options.forEach(function (option, i) { option.setAttribute("aria-selected", i === active ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", options[active].id);
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) { close(); return; }
    timer = setTimeout(function () {
      var url = picker.dataset.suggest;
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q), {credentials: "same-origin",
                                                                     headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(show)
        .catch(close);
    }, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
    else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(list.querySelectorAll("[role=option]")[active].concept);
    } else if (event.key === "Escape") { close(); }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
}());
