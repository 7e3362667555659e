// The console's only script: every page works without it. It asks before
// destructive buttons marked data-confirm, adds rows to the catmap editor,
// shows a feed form's fields for the kind chosen only, and polls a
// refresh's progress instead of reloading the page.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("submit", function (e) {
    var b = e.submitter;
    var msg = (b && b.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });
  var add = document.getElementById("catmap-add");
  if (add) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var body = document.querySelector("table.catmap tbody");
      var rows = body.querySelectorAll("tr");
      var last = rows[rows.length - 1];
      var row = last.cloneNode(true);
      var n = rows.length;
      row.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.id = input.id.replace(/\d+$/, String(n));
      });
      row.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/\d+$/, String(n));
        label.textContent = label.textContent.replace(/\d+$/, String(n + 1));
      });
      body.appendChild(row);
      row.querySelector("input").focus();
    });
  }
  var kind = document.getElementById("kind");
  if (kind) {
    var byKind = function () {
      document.querySelectorAll("[data-kinds]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0;
      });
      document.querySelectorAll("[data-kind-help]").forEach(function (el) {
        el.hidden = el.getAttribute("data-kind-help") !== kind.value;
      });
    };
    kind.addEventListener("change", byKind);
    byKind();
  }
  var job = document.querySelector("[data-job-status]");
  if (job) {
    var url = job.getAttribute("data-job-status");
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          job.textContent = s.words;
          job.className = "progress " + s.state;
          if (s.done) { window.location.reload(); } else { window.setTimeout(tick, 2000); }
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    };
    var reload = document.getElementById("job-reload");
    if (reload) { reload.hidden = true; }
    window.setTimeout(tick, 1500);
  }
}());
