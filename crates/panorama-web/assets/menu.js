// The header's drop-down menus: one open at a time, closed by a click
// elsewhere or Escape.
(function () {
  "use strict";
  const menus = () => document.querySelectorAll("header details.menu");
  document.addEventListener("click", (e) => {
    for (const m of menus()) if (!m.contains(e.target)) m.open = false;
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") for (const m of menus()) m.open = false;
  });
})();
