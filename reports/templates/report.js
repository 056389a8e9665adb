(function () {
  "use strict";
  var root = document.documentElement;
  root.className = root.className.replace("no-js", "js");
  // The few words the script writes, in the report's language (set by the template from the catalog).
  function say(key, english) { return root.getAttribute("data-say-" + key) || english; }

  // Copy buttons on every command; without JS the commands stay plain, selectable text.
  function copyText(text, button) {
    function done() {
      button.textContent = say("copied", "Copied");
      button.className = "copy done";
      setTimeout(function () { button.textContent = say("copy", "Copy"); button.className = "copy"; }, 1500);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  }
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    document.body.removeChild(area);
  }
  Array.prototype.forEach.call(document.querySelectorAll("pre.cmd"), function (pre) {
    var wrap = document.createElement("div");
    wrap.className = "cmdwrap";
    pre.parentNode.insertBefore(wrap, pre);
    wrap.appendChild(pre);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = say("copy", "Copy");
    button.title = say("copy-title", "Copy the command");
    button.addEventListener("click", function () { copyText(pre.textContent, button); });
    wrap.appendChild(button);
  });

  // Filter and sort the per-check table without a server.
  var table = document.getElementById("findings-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var controls = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
  var shown = document.getElementById("findings-shown");

  function apply() {
    var want = {};
    controls.forEach(function (c) { want[c.getAttribute("data-filter")] = c.value.trim(); });
    var text = (want.text || "").toLowerCase();
    var ns = (want.namespace || "").toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var d = row.dataset;
      var ok = (!want.status || d.status === want.status) &&
        (!want.severity || d.severity === want.severity) &&
        (!want.cluster || d.cluster === want.cluster) &&
        (!want.gate || d.gate === want.gate) &&
        (!ns || d.namespace.toLowerCase().indexOf(ns) !== -1) &&
        (!text || row.textContent.toLowerCase().indexOf(text) !== -1);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    if (shown) { shown.textContent = rowsShown(count); }
    showFilterNote(count);
  }

  function rowsShown(count) {
    return say("shown", "{shown} of {total} rows shown").replace("{shown}", count).replace("{total}", rows.length);
  }

  // Whenever a filter is on (picked here or set by a deep link), say so above the table: a shared link must not
  // pass for the whole list.
  var note = document.getElementById("findings-filter-note");
  function showFilterNote(count) {
    if (!note) { return; }
    var active = [];
    controls.forEach(function (c) {
      var value = c.value.trim();
      if (value) { active.push(c.getAttribute("data-filter") + " = " + value); }
    });
    note.hidden = active.length === 0;
    note.textContent = "";
    if (!active.length) { return; }
    note.appendChild(document.createTextNode(say("filter-on", "Filter on: {filters}").replace("{filters}",
      active.join("; ")) + " \u2014 " + rowsShown(count) + "."));
    var clear = document.createElement("button");
    clear.type = "button";
    clear.textContent = say("show-all", "Show all");
    clear.addEventListener("click", function () {
      controls.forEach(function (c) { c.value = ""; });
      apply();
    });
    note.appendChild(clear);
  }
  controls.forEach(function (c) {
    c.addEventListener(c.tagName === "INPUT" ? "input" : "change", apply);
  });
  var reset = document.getElementById("findings-reset");
  if (reset) {
    reset.addEventListener("click", function () {
      controls.forEach(function (c) { c.value = ""; });
      apply();
    });
  }

  // A shareable filtered view: report.html#findings?status=FAIL&cluster=cluster-a
  var hash = window.location.hash;
  var query = hash.indexOf("#findings?") === 0 ? hash.slice(10) : window.location.search.slice(1);
  if (query) {
    query.split("&").forEach(function (pair) {
      var kv = pair.split("=");
      var value = decodeURIComponent((kv[1] || "").replace(/\+/g, " "));
      controls.forEach(function (c) {
        if (c.getAttribute("data-filter") === kv[0]) { c.value = value; }
      });
    });
    (note || table).scrollIntoView();  // the "Filter on" line first: a shared link must not pass for the whole list
  }

  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th, index) {
    if (!th.hasAttribute("data-sort")) { return; }
    th.setAttribute("tabindex", "0");
    function sort() {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      function key(row) {
        var cell = row.cells[index];
        var v = cell.getAttribute("data-v");
        return v !== null ? Number(v) : cell.textContent.trim().toLowerCase();
      }
      var keyed = rows.map(function (row, i) { return [key(row), i, row]; });
      keyed.sort(function (a, b) {
        if (a[0] < b[0]) { return ascending ? -1 : 1; }
        if (a[0] > b[0]) { return ascending ? 1 : -1; }
        return a[1] - b[1];
      });
      rows = keyed.map(function (k) { return k[2]; });
      rows.forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });
  apply();
}());
