// Alerts as they are raised (server-sent events from /api/alerts/stream):
// each new alert goes to the top of the page's alert list, marked new, and
// the list's count moves. Only pages with an alert list (#alerts) listen.
(function () {
  "use strict";
  const section = document.getElementById("alerts");
  if (!section || !window.EventSource) return;
  const cell = (text) => {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  };
  // From the newest alert the page rendered: nothing raised while it loaded is missed.
  const after = /^[0-9]+$/.test(section.dataset.after || "") ? "?after=" + section.dataset.after : "";
  const source = new EventSource("/api/alerts/stream" + after);
  source.addEventListener("alert", (e) => {
    const a = JSON.parse(e.data);
    if (section.querySelector('tr[data-alert-id="' + a.id + '"]')) return;
    let tbody = section.querySelector("table tbody");
    if (!tbody) {
      const table = document.createElement("table");
      tbody = document.createElement("tbody");
      table.appendChild(tbody);
      section.appendChild(table);
    }
    const empty = section.querySelector("p.muted");
    if (empty) empty.remove();
    const tr = document.createElement("tr");
    tr.className = "sev-" + a.severity + " live-new";
    tr.dataset.alertId = a.id;
    tr.appendChild(cell(a.as_of));
    const rule = document.createElement("td");
    const tag = document.createElement("span");
    tag.className = "tag " + a.rule;
    tag.textContent = a.rule_name;
    rule.appendChild(tag);
    tr.appendChild(rule);
    const message = document.createElement("td");
    const link = document.createElement("a");
    link.href = "/customers/" + a.customer_id;
    link.textContent = a.message;
    message.appendChild(link);
    tr.appendChild(message);
    tr.appendChild(cell(a.due_on || ""));
    tbody.insertBefore(tr, tbody.firstChild);
    const h2 = section.querySelector("h2");
    if (h2) h2.textContent = h2.textContent.replace(/\((\d+)\)/, (_, n) => "(" + (Number(n) + 1) + ")");
  });
})();
