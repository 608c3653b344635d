/* Starts Swagger UI on /api/v1/docs (app/api/docs.py). A file, not an inline script: the CSP allows
   scripts from this origin only. The description's URL comes from the page; Swagger UI never reads a
   URL from the query string (queryConfigEnabled stays false), so the page cannot be made to show
   another document. Operations start folded under their tags (docExpansion "none"): with every one of
   the ~140 operations unfolded at once, Swagger UI stopped rendering after the second tag in Chromium
   (tags still list; each opens on a click, and deep links open theirs). */
(function () {
  "use strict";
  var target = document.getElementById("swagger-ui");
  if (!target || typeof SwaggerUIBundle !== "function") { return; }
  window.ui = SwaggerUIBundle({
    url: target.getAttribute("data-spec-url"),
    domNode: target,
    deepLinking: true,
    queryConfigEnabled: false,
    tryItOutEnabled: false,
    docExpansion: "none",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
}());
