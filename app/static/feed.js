// The event form's concept pickers (app/feed/templates/feed/edit.html): type two letters in the search
// box above "Occupations concerned" or "Skills concerned", choose a concept, and its URI is added on a
// line of its own to the textarea below (which stays the truth: without JavaScript the boxes stay
// hidden and URIs are typed or pasted from the concept browser). Uses fw's /frameworks/suggest.
(function () {
  "use strict";
  document.querySelectorAll(".feed-picker").forEach(function (picker, n) {
    var input = picker.querySelector("input[type=search]");
    var list = picker.querySelector("[role=listbox]");
    var target = document.getElementById(picker.dataset.target);
    var timer = null;
    var active = -1;
    if (!target) { return; }
    input.hidden = false;

    function close() {
      list.hidden = true;
      list.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(concept) {
      var lines = target.value.split(/\s+/).filter(function (line) { return line; });
      if (lines.indexOf(concept.uri) < 0) { lines.push(concept.uri); }
      target.value = lines.join("\n");
      input.value = "";
      close();
    }

    function show(concepts) {
      list.textContent = "";
      concepts.forEach(function (concept, index) {
        var option = document.createElement("li");
        option.id = "feed-option-" + n + "-" + index;
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
        var url = picker.dataset.suggest + "?q=" + encodeURIComponent(q) + "&kind=" + encodeURIComponent(picker.dataset.kind);
        fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(show)
          .catch(close);
      }, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter") {
        event.preventDefault();  // never submit the form from the search box
        if (active >= 0) { choose(list.querySelectorAll("[role=option]")[active].concept); }
      } else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  });
}());
