/* The dashboard's charts: data from the JSON block #dashboard-charts (no inline script under the CSP);
   a click on a bar or slice opens the list it counts, the same link as in the table under the chart. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  var palette = ["#2c7be5", "#00a97f", "#f6c343", "#e63757", "#6f42c1", "#39afd1", "#fd7e14",
                 "#95aac9", "#20c997", "#d63384", "#6c757d", "#343a40"];

  function colours(spec, index) {
    if (spec.type === "doughnut") { return spec.labels.map(function (_, i) { return palette[i % palette.length]; }); }
    return palette[index % palette.length];
  }

  charts.forEach(function (spec) {
    var canvas = document.getElementById("chart-" + spec.id);
    if (!canvas) { return; }
    var round = spec.type === "doughnut";
    new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (ds, i) {
          return { label: ds.label, data: ds.values, backgroundColor: colours(spec, i) };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: round || spec.datasets.length > 1, position: "bottom" },
          tooltip: { callbacks: { label: function (item) {
            return item.dataset.label + ": " + spec.datasets[item.datasetIndex].shown[item.dataIndex];
          } } }
        },
        scales: round ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          if (!elements.length) { return; }
          var url = spec.datasets[elements[0].datasetIndex].urls[elements[0].index];
          if (url) { window.location.assign(url); }
        }
      }
    });
  });
}());
