/* The main menu's groups are <details> elements: they open and close without this script. It only adds
   what a menu is expected to do: one group open at a time, Escape closes it (focus back on its title),
   and a click or focus elsewhere closes it. */
(function () {
  "use strict";
  var menus = Array.prototype.slice.call(document.querySelectorAll("[data-nav-menu]"));
  if (!menus.length) { return; }
  function closeAll(except) {
    menus.forEach(function (menu) { if (menu !== except) { menu.open = false; } });
  }
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () { if (menu.open) { closeAll(menu); } });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
        event.preventDefault();
      }
    });
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-nav-menu]")) { closeAll(null); }
  });
  document.addEventListener("focusin", function (event) {
    if (!event.target.closest("[data-nav-menu]")) { closeAll(null); }
  });
})();
