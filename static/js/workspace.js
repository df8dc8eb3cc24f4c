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
  // After a swap the tab list is new: keep the keyboard on the selected tab if it was on the list.
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "uc-tabs" && window.__ucTabFocus) {
      var selected = document.querySelector("#uc-tabs [aria-selected='true']");
      if (selected) selected.focus();
      window.__ucTabFocus = false;
    }
  });
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("#uc-tabs [role='tab']")) {
      window.__ucTabFocus = document.activeElement && document.activeElement.closest("#uc-tabs") !== null;
    }
  }, true);
})();
