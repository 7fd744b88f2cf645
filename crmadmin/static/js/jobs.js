/* Live progress of queued and running jobs: each bar asks its job's status (a small JSON) every second, moves, and
   reloads the page once the job has ended, so the download link or the reason appears in the reader's language.
   A static file, no inline script: allowed by the panel's Content-Security-Policy. */
(function () {
  "use strict";
  var boxes = document.querySelectorAll("[data-job-status]");
  if (!boxes.length || !window.fetch) { return; }

  function watch(box) {
    var bar = box.querySelector("progress");
    var rows = box.querySelector(".crm-job-rows");
    var left = box.querySelector(".crm-job-left");
    function poll() {
      fetch(box.getAttribute("data-job-status"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          if (!job.indeterminate) {  // a backup reports no progress: its bar keeps running
            bar.value = job.percent;
            bar.textContent = job.percent + "%";
            bar.setAttribute("aria-valuenow", job.percent);
            bar.setAttribute("aria-valuetext", job.percent + "%");
          }
          rows.textContent = job.rows_text;
          left.textContent = job.time_left ? left.getAttribute("data-left").replace("%s", job.time_left) : "";
          if (job.state !== "queued" && job.state !== "running") {
            window.location.reload();
            return;
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    poll();
  }
  Array.prototype.forEach.call(boxes, watch);
})();
