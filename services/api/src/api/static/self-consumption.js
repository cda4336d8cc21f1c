// Production and self-consumption (GET /v1/self-consumption on the city page,
// GET /v1/meters/{id}/self-consumption on the resident page). A module of its own,
// like city-peers.js: self-consumed = gross production (a PV sensor) - injection
// (the PRM's production series), only where both are measured; where only one
// side is known the page says which, and shows no guess.
"use strict";
(function () {
  const lang = document.body.dataset.lang === "en" ? "en" : "fr";
  // The page's words live with every other one in api/i18n.py (keys "sc_…"),
  // handed to each page as the sen1-i18n JSON.
  const T = JSON.parse(document.getElementById("sen1-i18n").textContent);
  const W = Object.fromEntries(Object.entries(T).filter(([k]) => k.startsWith("sc_"))
    .map(([k, v]) => [k.slice(3), v]));
  const fmt = (x, d) => (x === null || x === undefined) ? "–" : Number(x).toLocaleString(lang, {maximumFractionDigits: d === undefined ? 1 : d});
  const say = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));
  const iso = (d) => d.toLocaleDateString("sv-SE");
  // The api's reasons are English: the page says them as sen1.js does (loaded
  // first, deferred scripts run in order).
  const why = (r) => window.SEN1.why(r);
  async function get(path) {
    const headers = {"accept": "application/json"};
    const key = sessionStorage.getItem("sen1-city-key");
    if (key) headers["x-api-key"] = key;
    const r = await fetch(path, {headers, credentials: "same-origin"});
    return r.ok ? r.json() : null;
  }
  function row(body, cells, header) {
    const tr = document.createElement("tr");
    cells.forEach((c, i) => {
      const th = header || i === 0;
      const td = document.createElement(th ? "th" : "td");
      if (th) td.scope = header ? "col" : "row";
      td.textContent = c; tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  const until = (test, ms) => new Promise((ok) => {
    const t0 = Date.now();
    const tick = () => (test() || Date.now() - t0 > ms) ? ok() : setTimeout(tick, 200);
    tick();
  });

  // ---- city: the commune's and each IRIS' self-consumption over the period ----
  async function city(card) {
    const me = await get("/v1/auth/me");
    await until(() => document.getElementById("map") && document.getElementById("map").dataset.ready === "1", 30000);
    const hoods = await get("/v1/territory/neighbourhoods");
    const items = hoods ? (hoods.items || hoods) : [];
    const commune = me && me.kind === "city" ? String(me.scope_id).slice(0, 5) : (items[0] ? String(items[0].iris).slice(0, 5) : "");
    card.querySelector("h2").textContent = W.title;
    async function render() {
      const start = document.getElementById("p-start").value, end = document.getElementById("p-end").value;
      if (!start || !end || !commune) return;
      const q = me && me.kind === "city" ? "" : `&commune=${commune}`;
      const doc = await get(`/v1/self-consumption?start=${start}&end=${end}${q}`);
      if (!doc) return;
      card.hidden = false;
      card.querySelector(".hint").textContent = say(W.city_hint, {n: doc.rule.min_points});
      const total = doc.commune_total;
      const status = document.getElementById("sc-total");
      status.textContent = total ? `${W.commune} ${doc.commune} : ${total.state === "published" ? fmt(total.value / 1000, 0) + " kWh" : W[total.state] + (total.reason ? ` (${why(total.reason)})` : "")}` : "";
      const head = card.querySelector("thead"), body = card.querySelector("tbody");
      head.textContent = ""; body.textContent = "";
      row(head, [W.iris, W.name, W.value, W.points, W.status], true);
      for (const c of doc.neighbourhoods) {
        row(body, [c.iris, c.name, c.state === "published" ? fmt(c.value / 1000, 0) : "–",
          c.delivery_points === null ? "–" : String(c.delivery_points),
          W[c.state] + (c.reason ? ` : ${why(c.reason)}` : "")]);
      }
      const few = say(W.few, {n: doc.rule.min_points});
      const n = (x) => x === null ? few : String(x);
      document.getElementById("sc-coverage").textContent = say(W.coverage, {both: n(doc.coverage.both_sides), inj: n(doc.coverage.injection_only), prod: n(doc.coverage.production_only)});
      card.dataset.ready = "1";
    }
    await render();
    const form = document.getElementById("period-form");
    if (form) form.addEventListener("submit", () => setTimeout(render, 300));
    form && form.querySelectorAll("input[name=kind]").forEach((r) => r.addEventListener("change", () => setTimeout(render, 300)));
  }

  // ---- resident: my PV home's last 30 days ----------------------------------
  async function resident(card) {
    const select = document.getElementById("meter");
    await until(() => select && select.value, 30000);
    card.querySelector("h2").textContent = W.title;
    card.querySelector(".hint").textContent = W.home_hint;
    card.querySelector("summary").textContent = W.days;
    async function render() {
      const meter = select.value;
      if (!/^\d{14}$/.test(meter)) { card.hidden = true; return; }
      const today = new Date(); today.setHours(0, 0, 0, 0);
      const start = new Date(today); start.setDate(start.getDate() - 30);
      const doc = await get(`/v1/meters/${meter}/self-consumption?start=${iso(start)}&end=${iso(today)}`);
      if (!doc || (!doc.sides.injection && !doc.sides.production)) { card.hidden = true; return; }
      card.hidden = false;
      const sides = document.getElementById("sc-sides");
      sides.textContent = !doc.sides.production ? W.no_sensor : (!doc.sides.injection ? W.no_linky : (doc.total.days_with_both ? "" : W.none));
      const sum = document.getElementById("sc-summary");
      sum.textContent = "";
      const t = doc.total;
      if (t.days_with_both) {
        row(sum, [W.total, `${t.days_with_both} j`]);
        row(sum, [W.prod, fmt(t.production_kwh)]);
        row(sum, [W.inj, fmt(t.injection_kwh)]);
        row(sum, [W.self, fmt(t.self_consumed_kwh)]);
        row(sum, [W.rate, t.production_kwh > 0 ? `${fmt(100 * t.self_consumed_kwh / t.production_kwh, 0)} %` : "–"]);
      }
      const head = card.querySelector("#sc-days thead"), body = card.querySelector("#sc-days tbody");
      head.textContent = ""; body.textContent = "";
      row(head, [W.day, W.prod, W.inj, W.self, W.status], true);
      for (const d of doc.days) {
        row(body, [new Date(d.day + "T12:00:00").toLocaleDateString(lang), fmt(d.production_kwh), fmt(d.injection_kwh), fmt(d.self_consumed_kwh), W[d.state] || d.state]);
      }
      card.dataset.ready = "1";
    }
    await render();
    select.addEventListener("change", render);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const card = document.getElementById("sc-card");
    if (!card) return;
    (card.dataset.page === "city" ? city(card) : resident(card)).catch(() => { card.hidden = true; });
  });
})();
