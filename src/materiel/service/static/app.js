// materiel web app: render Plotly figures embedded as JSON, and send the CSRF token with htmx.
(function () {
  "use strict";
  function renderPlots() {
    document.querySelectorAll("script.plot-spec").forEach(function (el) {
      if (el.dataset.done) return;
      el.dataset.done = "1";
      var target = document.getElementById(el.dataset.target);
      if (!target || !window.Plotly) return;
      var spec = JSON.parse(el.textContent);
      window.Plotly.newPlot(target, spec.data, spec.layout,
        { responsive: true, displaylogo: false }).then(function () {
        target.dataset.rendered = "1";
      });
    });
  }
  document.addEventListener("DOMContentLoaded", renderPlots);
  document.addEventListener("htmx:afterSettle", renderPlots);
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });
  document.addEventListener("change", function (event) {
    // compare button on the runs list: enable when two or more runs are ticked
    if (!event.target.matches("input.pick")) return;
    var n = document.querySelectorAll("input.pick:checked").length;
    var button = document.getElementById("compare-button");
    if (button) button.disabled = n < 2;
  });
})();
