// Follows a server's logs and stats over server-sent events. The page
// marks what to update: [data-events] (the stream's URL), [data-stat=NAME]
// (a stats field), [data-logs] (the log panel), [data-live] (the light).
// Without this script the page still shows a snapshot.
"use strict";
(function () {
  const root = document.querySelector("[data-events]");
  if (!root || !window.EventSource) return;
  const logs = document.querySelector("[data-logs]");
  const light = document.querySelector("[data-live]");
  const MAX_LINES = 1000;
  const format = {
    cpu_percent: (v) => v.toFixed(1) + " %",
    memory_mib: (v) => v.toFixed(0) + " MiB",
    running: (v) => (v ? "yes" : "no"),
  };
  const events = new EventSource(root.dataset.events);
  events.onopen = () => light && light.classList.add("on");
  events.onerror = () => light && light.classList.remove("on");
  events.addEventListener("stats", (e) => {
    const stats = JSON.parse(e.data);
    for (const [name, value] of Object.entries(stats)) {
      const cell = document.querySelector('[data-stat="' + name + '"]');
      if (cell) cell.textContent = (format[name] || String)(value);
    }
  });
  events.addEventListener("state", (e) => {
    const badge = document.querySelector("[data-state]");
    if (badge && badge.textContent !== e.data) {
      badge.textContent = e.data;
      badge.className = "badge " + e.data;
    }
  });
  events.addEventListener("logs", (e) => {
    if (!logs) return;
    const lines = JSON.parse(e.data);
    logs.textContent = lines.length ? lines.join("\n") + "\n" : "";
    logs.scrollTop = logs.scrollHeight;
  });
  events.addEventListener("log", (e) => {
    if (!logs) return;
    const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    logs.append(e.data + "\n");
    while (logs.childNodes.length > MAX_LINES) logs.removeChild(logs.firstChild);
    if (atBottom) logs.scrollTop = logs.scrollHeight;
  });
})();
