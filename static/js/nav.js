// The navigation's <details> sub-menus work without this; with it, opening one closes the others,
// and a click elsewhere or Escape closes an open one, as a dropdown does.
document.addEventListener("DOMContentLoaded", () => {
  const menus = Array.from(document.querySelectorAll("details.nav-menu"));
  menus.forEach((menu) => {
    menu.addEventListener("toggle", () => {
      if (menu.open) menus.filter((m) => m !== menu).forEach((m) => { m.open = false; });
    });
  });
  document.addEventListener("click", (event) => {
    menus.forEach((m) => { if (m.open && !m.contains(event.target)) m.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    menus.forEach((m) => {
      if (m.open) { m.open = false; m.querySelector("summary").focus(); }
    });
  });
});
