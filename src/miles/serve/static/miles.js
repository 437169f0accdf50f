// Miles' own small script: draws Plotly charts from data-figure, previews the chosen thumbnail,
// hides thumbnails that fail to load, and lets HTMX swap error responses into the page.
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) {
      root.querySelectorAll(".chart[data-figure]").forEach(function (el) {
        if (!el.dataset.noPlotly) {
          el.dataset.noPlotly = "1";
          el.textContent = "The chart library (Plotly) did not load; the numbers are in the text and at this page's .json twin.";
          el.classList.add("empty");
        }
      });
      return;
    }
    root.querySelectorAll(".chart[data-figure]").forEach(function (el) {
      if (el.dataset.drawn === el.dataset.figure) { return; }
      var fig = JSON.parse(el.dataset.figure);
      el.dataset.drawn = el.dataset.figure;
      window.Plotly.react(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
    });
  }

  function markBrokenImages(root) {
    root.querySelectorAll(".thumb img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) { img.classList.add("broken"); }
    });
  }

  function previewThumbnail(input) {
    var img = document.getElementById(input.dataset.preview);
    if (!img) { return; }
    var file = input.files && input.files[0];
    if (!file) { img.hidden = true; img.removeAttribute("src"); return; }
    img.src = URL.createObjectURL(file);
    img.hidden = false;
  }

  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("input[type=file][data-preview]")) { previewThumbnail(e.target); }
  });
  document.addEventListener("error", function (e) {
    if (e.target.tagName === "IMG" && e.target.closest(".thumb")) { e.target.classList.add("broken"); }
  }, true);
  document.addEventListener("htmx:afterSettle", function (e) { drawCharts(e.target); markBrokenImages(e.target); });
  document.addEventListener("htmx:sendError", function (e) {
    var target = e.detail.target;
    if (target) {
      target.innerHTML = '<div class="error-box" role="alert"><strong>Miles did not answer.</strong><p>Is the server still running? Try again.</p></div>';
    }
  });
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      // Swap 4xx/5xx answers too: they carry a readable error box for the same target.
      window.htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "[45]..", swap: true, error: true },
      ];
    }
    drawCharts(document);
  });
  window.addEventListener("load", function () { drawCharts(document); markBrokenImages(document); });
})();
