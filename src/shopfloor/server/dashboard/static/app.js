/* shopfloor dashboard: draws the figures and sends alert changes. No inline script:
   figures come as JSON in <script type="application/json"> blocks named by data-figure. */
(function () {
  "use strict";

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };

  function drawFigures() {
    var charts = document.querySelectorAll("[data-figure]");
    if (!charts.length) return;
    if (typeof window.Plotly === "undefined") {
      charts.forEach(function (el) { el.textContent = "The chart library did not load."; });
      return;
    }
    charts.forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-figure"));
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, figure.data || [], figure.layout || {}, CONFIG);
    });
  }

  function setStatus(row, message, kind) {
    var status = row.querySelector("[data-status]");
    if (!status) return;
    status.textContent = message;
    status.className = "status small " + (kind || "");
  }

  function applyAlert(row, alert) {
    var state = row.querySelector("[data-state]");
    if (state) {
      state.textContent = alert.state;
      state.className = "badge badge-state-" + alert.state;
    }
    var note = row.querySelector("[data-note]");
    if (note) note.textContent = alert.note || "";
    row.querySelectorAll("[data-alert-action]").forEach(function (button) {
      var action = button.getAttribute("data-alert-action");
      var stays = alert.state === "open" || (alert.state === "acknowledged" && action === "close");
      if (!stays) button.remove();
    });
    if (alert.state === "closed") {
      var comment = row.querySelector("[data-comment]");
      if (comment) comment.remove();
    }
  }

  function changeAlert(button) {
    var row = button.closest("[data-alert]");
    if (!row) return;
    var id = row.getAttribute("data-alert");
    var action = button.getAttribute("data-alert-action");
    var comment = row.querySelector("[data-comment]");
    var buttons = row.querySelectorAll("[data-alert-action]");
    buttons.forEach(function (b) { b.disabled = true; });
    setStatus(row, "saving…", "");
    fetch("/api/alerts/" + encodeURIComponent(id) + "/" + action, {
      method: "POST",
      credentials: "same-origin",
      referrerPolicy: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ comment: comment ? comment.value : "" }),
    })
      .then(function (response) {
        return response.json().then(
          function (body) { return { ok: response.ok, status: response.status, body: body }; },
          function () { return { ok: response.ok, status: response.status, body: {} }; }
        );
      })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error(answer.body.detail || "the server answered " + answer.status);
        }
        applyAlert(row, answer.body);
        if (comment) comment.value = "";
        setStatus(row, action === "close" ? "closed" : "acknowledged", "done");
      })
      .catch(function (error) {
        setStatus(row, "not saved: " + error.message, "error");
      })
      .then(function () {
        row.querySelectorAll("[data-alert-action]").forEach(function (b) { b.disabled = false; });
      });
  }

  function wire() {
    document.querySelectorAll("[data-alert-action]").forEach(function (button) {
      button.addEventListener("click", function () { changeAlert(button); });
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) select.form.submit();
      });
    });
    drawFigures();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
