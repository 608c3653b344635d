/* Writing aid on the experience form: as the title and description are typed, the skills the server
 * finds in them (POST /skill-suggestions/draft, answered as an HTML fragment) replace the list; ticked
 * suggestions stay ticked. On the edit page, "Dismiss" remembers the refusal for this experience at once.
 * Without this script the edit page shows the suggestions of the saved text, and the experience's page
 * offers them all, so nothing depends on it. */
(function () {
  "use strict";
  var panel = document.getElementById("suggestions");
  if (!panel || !panel.dataset.draftUrl) { return; }
  var form = panel.closest("form");
  var list = panel.querySelector("[data-suggestions]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var title = form.querySelector("[name=title]");
  var description = form.querySelector("[name=description]");
  var timer = null, sent = "";

  function showDismiss() {
    if (!panel.dataset.dismissUrl) { return; }
    list.querySelectorAll("[data-dismiss]").forEach(function (button) { button.hidden = false; });
  }

  function post(url, body, accept) {
    body.append("csrf_token", token);
    return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                       headers: {"X-CSRFToken": token, "Accept": accept}});
  }

  function refresh() {
    var text = (title ? title.value : "") + "\n" + (description ? description.value : "");
    if (text === sent) { return; }
    sent = text;
    var body = new FormData();
    body.append("title", title ? title.value : "");
    body.append("description", description ? description.value : "");
    if (panel.dataset.experience) { body.append("experience", panel.dataset.experience); }
    list.querySelectorAll("input[name=suggested]:checked").forEach(function (box) {
      body.append("suggested", box.value);
    });
    post(panel.dataset.draftUrl, body, "text/html").then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    }).then(function (html) {
      if (sent !== text) { return; }  // a newer request is on its way
      var levels = {};
      list.querySelectorAll("select").forEach(function (select) { levels[select.name] = select.value; });
      list.innerHTML = html;
      list.querySelectorAll("select").forEach(function (select) {
        if (levels[select.name]) { select.value = levels[select.name]; }
      });
      showDismiss();
    }).catch(function () { /* the list keeps its last state; saving still works */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 500);
  }

  [title, description].forEach(function (input) { if (input) { input.addEventListener("input", later); } });
  list.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (!button) { return; }
    var body = new FormData();
    body.append("concept", button.dataset.dismiss);
    post(panel.dataset.dismissUrl, body, "application/json").then(function (response) {
      if (response.ok) { button.closest("li").remove(); }
    });
  });
  showDismiss();
  if (!panel.dataset.experience) { refresh(); }
}());
