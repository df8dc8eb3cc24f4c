// The use-case workspace's tabs (templates/portfolio/workspace/_tablist.html): the keyboard of the
// WAI-ARIA tabs pattern. Left and right arrows, Home and End move to a tab and open it; the server
// marks the selected tab when it answers (the tab list comes back out of band).
(function () {
  document.addEventListener("keydown", function (e) {
    var tab = e.target.closest && e.target.closest("#uc-tabs [role='tab']");
    if (!tab) return;
    var tabs = Array.prototype.slice.call(document.querySelectorAll("#uc-tabs [role='tab']"));
    var i = tabs.indexOf(tab), next = null;
    if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
    else if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
    else if (e.key === "Home") next = tabs[0];
    else if (e.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    e.preventDefault();
    next.click();
  });
  // A tab opened from the tab list keeps the keyboard there: the list is new after the swap (it
  // comes back out of band), so the focus goes to the tab now selected.
  var keepFocus = false;
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("#uc-tabs [role='tab']")) {
      keepFocus = !!(document.activeElement && document.activeElement.closest("#uc-tabs"));
    }
  }, true);
  // On a phone the tab list scrolls sideways: bring the selected tab into it.
  function showSelected() {
    var strip = document.getElementById("uc-tabs");
    var selected = strip && strip.querySelector("[aria-selected='true']");
    if (!selected) return null;
    if (selected.offsetLeft + selected.offsetWidth > strip.scrollLeft + strip.clientWidth ||
        selected.offsetLeft < strip.scrollLeft) {
      strip.scrollLeft = Math.max(0, selected.offsetLeft - 12);
    }
    return selected;
  }
  document.addEventListener("DOMContentLoaded", showSelected);
  document.addEventListener("htmx:afterSettle", function () {
    var selected = showSelected();
    if (keepFocus && selected) { keepFocus = false; selected.focus(); }
  });
})();
