// Miles' own small script: draws Plotly charts from data-figure, previews the chosen thumbnail,
// hides thumbnails that fail to load, lets HTMX swap error responses into the page, and clears a form's old
// problem markers once it is accepted.
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
      // on a phone the tool bar (zoom, download) sat over the legend, the one part of the chart that says what it shows
      var narrow = window.matchMedia("(max-width: 600px)").matches;
      window.Plotly.react(el, fig.data, fig.layout, { responsive: true, displaylogo: false, displayModeBar: narrow ? false : "hover" });
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
    var reader = new FileReader();  // a data: URL (the CSP allows data: images, not blob:)
    reader.onload = function () { img.src = reader.result; img.hidden = false; };
    reader.readAsDataURL(file);
  }

  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("input[type=file][data-preview]")) { previewThumbnail(e.target); }
  });
  document.addEventListener("error", function (e) {
    if (e.target.tagName === "IMG" && e.target.closest(".thumb")) { e.target.classList.add("broken"); }
  }, true);
  // A form sent back with problems (or a platform notice: nothing to fix, no model for it): their summary takes the
  // focus, which scrolls it into view (on a phone it sat far above the button just pressed, and the page seemed not
  // to answer) and has screen readers read it.
  var ANSWERS_ON_TOP = "#problems, #platform-notice";
  function focusProblems(root) {
    var summary = root.querySelector ? root.querySelector(ANSWERS_ON_TOP) : null;
    if (!summary && root.matches && root.matches(ANSWERS_ON_TOP)) { summary = root; }
    if (!summary) { return; }
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
  document.addEventListener("htmx:afterSettle", function (e) {
    drawCharts(e.target);
    markBrokenImages(e.target);
    focusProblems(e.target);
  });
  // A form sent again after problems, now accepted: its old problem markers go (the result box alone is swapped).
  document.addEventListener("htmx:afterRequest", function (e) {
    if (!e.detail.successful || e.detail.elt.tagName !== "FORM") { return; }
    var main = document.getElementById("main");
    main.querySelectorAll(".error-box.problems, .field-error").forEach(function (el) { el.remove(); });
    main.querySelectorAll('[aria-invalid="true"]').forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
  });
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
  // The browser's time zone, once per browser: posted to the session so pages show local times (the API stays
  // UTC); a page opened with GET is then reloaded once to show them (never a page that answered a form).
  function syncTimeZone() {
    var meta = document.querySelector('meta[name="miles-tz"]');
    var csrf = document.querySelector('meta[name="csrf-token"]');
    var tz;
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (err) { return; }
    if (!meta || !csrf || !tz || meta.content || window.sessionStorage.getItem("miles-tz-sent") === tz) { return; }
    window.sessionStorage.setItem("miles-tz-sent", tz);
    tzSync = fetch("/timezone", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf.content, "Content-Type": "application/x-www-form-urlencoded" },
      body: "tz=" + encodeURIComponent(tz),
    }).then(function (r) {
      // Reload to show times in the browser's zone, unless the creator has started filling a form (a reload
      // would wipe what they typed); the next page shows local times anyway.
      if (r.ok && document.body.dataset.reloadable === "1" && !formTouched) { window.location.reload(); }
    }).catch(function () {}).finally(function () { tzSync = null; });
  }

  var formTouched = false;
  var tzSync = null;  // the /timezone request while it runs
  document.addEventListener("input", function () { formTouched = true; }, true);
  // A form sent while /timezone still runs waits for it: both answers set the session cookie, and the later one won,
  // so a sign-up sent at once (a password manager, a script) was logged out again by the time zone's answer.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!tzSync || form.dataset.tzWaited === "1") { return; }
    e.preventDefault();
    e.stopPropagation();  // HTMX sends it once the time zone is stored, not twice
    formTouched = true;  // and no reload for the time zone throws it away
    var submitter = e.submitter;
    tzSync.then(function () {
      form.dataset.tzWaited = "1";
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    });
  }, true);

  // The header's account menu (a <details>) closes with Escape, focus back on its summary, and on a click outside it.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(e.target)) { menu.open = false; }
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncTimeZone();
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
