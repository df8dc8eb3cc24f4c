// The header's search box: "/" or Ctrl/Cmd+K focuses it; arrows move through the dropdown that
// htmx fills as one types; Enter opens the highlighted result (the first, unless one moved), or,
// with nothing highlighted, submits the form to the full results page. Escape closes the dropdown.
(function () {
  "use strict";
  var input, dropdown, active = -1;

  function options() { return dropdown ? Array.prototype.slice.call(dropdown.querySelectorAll(".search-hit")) : []; }

  function highlight(index) {
    var hits = options();
    hits.forEach(function (hit, i) {
      hit.classList.toggle("active", i === index);
    });
    active = hits.length ? Math.max(-1, Math.min(index, hits.length - 1)) : -1;
    if (active >= 0) { hits[active].scrollIntoView({block: "nearest"}); }
  }

  function close() {
    if (!dropdown) { return; }
    dropdown.innerHTML = "";
    active = -1;
  }

  function typing(target) {
    var tag = target && target.tagName;
    return target && (target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT");
  }

  function init() {
    input = document.getElementById("search-q");
    dropdown = document.getElementById("search-dropdown");
    if (!input || !dropdown) { return; }

    document.addEventListener("keydown", function (event) {
      var shortcut = (event.key === "k" || event.key === "K") && (event.ctrlKey || event.metaKey);
      if (shortcut || (event.key === "/" && !typing(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey)) {
        event.preventDefault();
        var collapsed = input.closest(".collapse:not(.show)");
        if (collapsed && window.bootstrap) { window.bootstrap.Collapse.getOrCreateInstance(collapsed).show(); }
        input.focus();
        input.select();
      }
    });

    input.addEventListener("keydown", function (event) {
      var hits = options();
      if (event.key === "ArrowDown" && hits.length) {
        event.preventDefault();
        highlight(active + 1);
      } else if (event.key === "ArrowUp" && hits.length) {
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Escape" && dropdown.innerHTML.trim() !== "") {
        // The first Escape closes the dropdown and keeps the words; the next clears the box.
        event.preventDefault();
        close();
      } else if (event.key === "Enter" && active >= 0 && hits[active]) {
        event.preventDefault();
        window.location.assign(hits[active].href);
      }
    });

    document.addEventListener("click", function (event) {
      if (!input.form.contains(event.target)) { close(); }
    });

    // A refused query (400: a NUL, or too long) still shows its message in the dropdown.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target === dropdown && event.detail.xhr.status === 400) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== dropdown) { return; }
      highlight(options().length ? 0 : -1);
    });
    // An answer that arrives after the box was emptied would reopen the dropdown: drop it.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target === dropdown && input.value.trim() === "") { event.detail.shouldSwap = false; close(); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
