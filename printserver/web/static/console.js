"use strict";
// The console's only script, ours: the queue refreshes its rows every 2 s without a reload,
// a film opens large on click, and cancelling asks first.  Pages work without it.
(function () {
  const REFRESH_MS = 2000;

  // Rows whose job did not change are kept as they are (no flicker, no new picture request);
  // only their age is updated.
  function merge(tbody, html) {
    const fresh = document.createElement("tbody");
    fresh.innerHTML = html;
    const old = new Map();
    for (const row of tbody.rows) {
      if (row.id) old.set(row.id, row);
    }
    const rows = Array.from(fresh.rows).map(function (row) {
      const kept = old.get(row.id);
      if (!kept || kept.dataset.version !== row.dataset.version) return row;
      kept.querySelector(".age").textContent = row.querySelector(".age").textContent;
      return kept;
    });
    tbody.replaceChildren(...rows);
  }

  function refresh(tbody) {
    if (document.hidden) return;
    fetch(tbody.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected) window.location.reload();  // logged out: to the login form
        return response.ok && !response.redirected ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) { merge(tbody, html); })
      .catch(function () { /* the next tick tries again */ });
  }

  function showLarge(event) {
    const dialog = document.getElementById("preview");
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    dialog.querySelector("img").src = event.currentTarget.href;
    dialog.showModal();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const tbody = document.getElementById("jobs");
    if (tbody) setInterval(function () { refresh(tbody); }, REFRESH_MS);
    for (const select of document.querySelectorAll("form.filters select")) {
      select.addEventListener("change", function () { select.form.submit(); });
    }
    for (const link of document.querySelectorAll("a.page")) {
      link.addEventListener("click", showLarge);
    }
    const dialog = document.getElementById("preview");
    if (dialog) dialog.addEventListener("click", function () { dialog.close(); });
  });

  // delegated: queue rows are replaced while the page is open
  document.addEventListener("submit", function (event) {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
