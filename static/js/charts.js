// Draws every plotly chart on the page from the JSON that the server built (see <app>/charts.py).
(function () {
  function draw(root) {
    root.querySelectorAll("script[type='application/json'][data-chart]").forEach(function (node) {
      var target = document.getElementById(node.dataset.chart);
      if (!target || !window.Plotly) return;
      var fig = JSON.parse(node.textContent);
      Plotly.react(target, fig.data, fig.layout, { responsive: true, displaylogo: false });
      target.dataset.drawn = "true";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
