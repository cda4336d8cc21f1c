// SEN1 dashboard: plain JS, inline SVG charts, no external assets (works offline).
"use strict";
(function () {
  const T = JSON.parse(document.getElementById("sen1-i18n").textContent);
  const lang = document.body.dataset.lang;
  const NS = "http://www.w3.org/2000/svg";
  const fmt = (x, d) => (x === null || x === undefined) ? "–" :
    Number(x).toLocaleString(lang, {maximumFractionDigits: d === undefined ? 1 : d});

  async function api(path, opts) {
    const headers = Object.assign({"accept": "application/json"}, (opts || {}).headers);
    const key = sessionStorage.getItem("sen1-city-key");
    if (key) headers["x-api-key"] = key;
    const r = await fetch(path, Object.assign({credentials: "same-origin"}, opts, {headers}));
    if (r.status === 401) { location.href = "/?lang=" + lang; throw new Error("401"); }
    if (!r.ok) throw new Error(path + " " + r.status);
    return r.status === 204 ? null : r.json();
  }
  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function svg(container, w, h) {
    container.textContent = "";
    return el("svg", {viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img"}, container);
  }
  const iso = (d) => d.toLocaleDateString("sv-SE");  // YYYY-MM-DD in local time
  const addDays = (d, n) => { const x = new Date(d); x.setDate(x.getDate() + n); return x; };

  // Bar chart: items [{label, value, cls, title}]
  function bars(container, items, unit) {
    const w = 600, h = 200, pad = 24;
    const s = svg(container, w, h);
    const max = Math.max(1e-9, ...items.map((i) => i.value || 0));
    const bw = (w - pad) / Math.max(1, items.length);
    items.forEach((it, k) => {
      const bh = it.suppressed ? 4 : (h - pad) * (it.value || 0) / max;  // a stub: withheld, not zero
      const r = el("rect", {x: pad + k * bw + 1, y: h - pad - bh, width: Math.max(1, bw - 2),
        height: bh, class: "bar " + (it.cls || ""), "data-label": it.label}, s);
      el("title", {}, r).textContent = it.suppressed ? `${it.label}: ${T.suppressed}` : `${it.label}: ${fmt(it.value)} ${unit}`;
    });
    el("text", {x: 2, y: 10, class: "axis"}, s).textContent = `${fmt(max)} ${unit}`;
    return s;
  }
  function line(container, points, capacity) {
    const w = 600, h = 200;
    const s = svg(container, w, h);
    if (!points.length) { el("text", {x: 10, y: 20, class: "axis"}, s).textContent = T.no_data; return; }
    const max = Math.max(1e-9, capacity || 0, ...points.map((p) => p[1]));
    const d = points.map((p, k) => `${k ? "L" : "M"}${(k / Math.max(1, points.length - 1)) * w},${h - (h - 10) * p[1] / max}`).join("");
    el("path", {d, class: "line"}, s);
    el("text", {x: 2, y: 10, class: "axis"}, s).textContent = `${fmt(max, 2)} kWh`;
  }

  async function resident() {
    const select = document.getElementById("meter");
    const meters = (await api("/v1/meters")).items;
    for (const m of meters) {
      const o = document.createElement("option");
      o.value = m.meter_id; o.textContent = `${m.energy} · …${m.meter_id.slice(-4)}`;
      select.appendChild(o);
    }
    select.onchange = () => showMeter(select.value);
    // rights last, so the access log already lists the reads of this page
    try { if (meters.length) await showMeter(meters[0].meter_id); } finally { await rights(); }
  }

  // Resident rights: consents (withdraw, keep or delete), who accessed my data, erase.
  const tail = (id) => "…" + String(id).slice(-4);
  const day = (ts) => ts ? new Date(ts).toLocaleDateString(lang) : "–";
  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; }
  function say(text, cls) { const m = document.getElementById("rights-message"); m.textContent = text; m.className = cls || ""; }
  async function send(method, path, body) {
    return fetch(path, {method, credentials: "same-origin",
      headers: {"content-type": "application/json", "accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)});
  }
  async function withdraw(consent, remove) {
    if (!confirm(remove ? T.confirm_delete : T.confirm_withdraw)) return;
    const r = await send("POST", `/v1/me/consents/${consent.consent_id}/withdraw`, {delete_readings: remove});
    if (r.status === 409) { say(T.shared_refused, "error"); return; }
    if (!r.ok) { say(`${r.status}`, "error"); return; }
    const done = await r.json();
    say(remove ? `${T.withdrawn} ${done.readings_deleted} ${T.deleted}.` : T.withdrawn);
    await refreshMeters();
    await rights();
  }
  async function refreshMeters() {
    const select = document.getElementById("meter");
    const meters = (await api("/v1/meters")).items;
    select.textContent = "";
    for (const m of meters) {
      const o = document.createElement("option");
      o.value = m.meter_id; o.textContent = `${m.energy} · ${tail(m.meter_id)}`;
      select.appendChild(o);
    }
    for (const id of ["daily-chart", "curve-chart", "compare-chart"]) document.getElementById(id).textContent = "";
    if (meters.length) await showMeter(meters[0].meter_id);
  }
  async function rights() {
    const consents = (await api("/v1/me/consents")).items;
    const body = document.querySelector("#consents tbody");
    body.textContent = "";
    for (const c of consents) {
      const tr = document.createElement("tr");
      tr.dataset.consentId = c.consent_id; tr.dataset.status = c.status;
      cell(tr, tail(c.meter_id)); cell(tr, day(c.starts_at)); cell(tr, day(c.revoked_at || c.expires_at));
      cell(tr, T["st_" + c.status] || c.status);
      const actions = cell(tr, "");
      const button = (label, cls, fn) => { const b = document.createElement("button"); b.textContent = label;
        b.className = cls; b.onclick = fn; actions.appendChild(b); };
      if (c.status === "live" || c.status === "pending") {
        button(T.withdraw_keep, "withdraw-keep", () => withdraw(c, false));
        button(T.withdraw_delete, "withdraw-delete danger", () => withdraw(c, true));
      } else {
        button(T.delete_readings, "delete-readings", () => withdraw(c, true));
      }
      body.appendChild(tr);
    }
    const log = (await api("/v1/me/access-log?limit=50")).items;
    const lbody = document.querySelector("#access-log tbody");
    lbody.textContent = "";
    for (const e of log) {
      const tr = document.createElement("tr");
      cell(tr, new Date(e.at).toLocaleString(lang));
      cell(tr, e.actor === "you" ? T.you : e.actor === "unknown" ? T.unknown : `${e.actor}${e.actor_name ? " · " + e.actor_name : ""}`);
      cell(tr, tail(e.meter_id)); cell(tr, `${e.method} ${e.route}`);
      cell(tr, e.consent_id ? tail(e.consent_id) : "–");
      lbody.appendChild(tr);
    }
  }
  const erase = document.getElementById("erase");
  if (erase) erase.onclick = async () => {
    if (!confirm(T.confirm_erase)) return;
    const r = await send("DELETE", "/v1/me?confirm=erase");
    if (r.status !== 204) { say(`${r.status}`, "error"); return; }
    location.href = "/?lang=" + lang + "&erased=1";
  };
  async function showMeter(id) {
    const today = new Date(); today.setHours(0, 0, 0, 0);
    const start = addDays(today, -30), base = `/v1/meters/${id}`;
    document.getElementById("export").href = `${base}/daily.csv?start=${iso(start)}&end=${iso(today)}`;
    const daily = await api(`${base}/daily?start=${iso(start)}&end=${iso(addDays(today, 1))}`);
    bars(document.getElementById("daily-chart"),
      daily.items.map((i) => ({label: i.period, value: i.kwh})), "kWh");
    const y = addDays(today, -1);
    const curve = await api(`${base}/readings?start=${encodeURIComponent(y.toISOString())}&end=${encodeURIComponent(today.toISOString())}`);
    line(document.getElementById("curve-chart"), curve.items.map((r) => [r.start, r.kwh]));
    const month = iso(today).slice(0, 7);
    const [cmp, cost, co2] = await Promise.all([
      api(`${base}/comparison?month=${month}`),
      api(`${base}/cost?month=${month}`).catch(() => null),
      api(`${base}/co2?month=${month}`).catch(() => null)]);
    document.getElementById("m-kwh").textContent = `${fmt(cmp.my_kwh)} kWh`;
    document.getElementById("p-kwh").textContent = `${fmt(cmp.previous_month_kwh)} kWh`;
    const sim = document.getElementById("s-kwh");
    sim.textContent = cmp.suppressed ? T.suppressed : `${fmt(cmp.similar_mean_kwh)} kWh`;
    sim.className = cmp.suppressed ? "suppressed" : "";
    if (cmp.reason) sim.title = cmp.reason;
    document.getElementById("m-eur").textContent = cost ? `${fmt(cost.total_eur, 2)} €` : "–";
    document.getElementById("m-co2").textContent = co2 ? `${fmt(co2.kg_co2e, 1)} kg CO2e` : "–";
    bars(document.getElementById("compare-chart"), [
      {label: T.month, value: cmp.my_kwh}, {label: T.last_month, value: cmp.previous_month_kwh, cls: "prev"},
      {label: T.similar, value: cmp.similar_mean_kwh || 0, cls: "sim"}], "kWh");
  }

  function project(features) {
    let x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (const f of features) for (const ring of f.geometry.coordinates) for (const [x, y] of ring) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const k = Math.cos((y0 + y1) / 2 * Math.PI / 180), w = 800;
    const sx = w / Math.max(1e-9, (x1 - x0) * k), h = (y1 - y0) * sx;
    return {w, h, p: ([x, y]) => `${((x - x0) * k * sx).toFixed(1)},${(h - (y - y0) * sx).toFixed(1)}`};
  }
  async function city() {
    const today = new Date(); today.setHours(0, 0, 0, 0); today.setDate(1);
    const start = iso(addDays(today, -1)).slice(0, 8) + "01", end = iso(today);
    const [hoods, parcels] = await Promise.all([api("/v1/territory/neighbourhoods.geojson"),
      api("/v1/territory/parcels.geojson")]);
    const me = await api("/v1/auth/me");
    const mine = (iris) => me.kind !== "city" || (me.scope === "commune" ? iris.startsWith(me.scope_id) : iris === me.scope_id);
    const pr = project(hoods.features.concat(parcels.features));
    const s = svg(document.getElementById("map"), pr.w, pr.h);
    const path = (f, cls) => {
      const p = el("path", {d: f.geometry.coordinates.map((r) => "M" + r.map(pr.p).join("L") + "Z").join(""), class: cls,
        fill: "#dfe8df", stroke: "#1f5f46", "stroke-width": cls === "hood" ? 2 : 0.5, "data-id": f.id}, s);
      return p;
    };
    hoods.features.forEach((f) => path(f, "hood"));
    const tbody = document.querySelector("#city-table tbody");
    for (const f of hoods.features.filter((f) => mine(f.id))) {
      const page = await api(`/v1/rollups/neighbourhood/${f.id}?bucket=P1M&start=${start}&end=${end}`);
      const item = page.items[0];
      const tr = document.createElement("tr");
      const cell = (txt, cls, title) => { const td = document.createElement("td"); td.textContent = txt;
        if (cls) td.className = cls; if (title) td.title = title; tr.appendChild(td); };
      cell(f.id); cell(f.properties.name);
      if (!item) { cell(T.no_data, "suppressed"); cell("–"); }
      else if (item.suppressed) { cell(T.suppressed, "suppressed", item.reason); cell("–"); }
      else { cell(fmt(item.value / 1000, 0)); cell(String(item.delivery_points)); }
      tbody.appendChild(tr);
    }
    for (const f of parcels.features.filter((f) => mine(f.properties.iris))) {
      const p = path(f, "parcel");
      const page = await api(`/v1/rollups/parcel/${f.id}?bucket=P1M&start=${start}&end=${end}`).catch(() => null);
      const item = page && page.items[0];
      const title = el("title", {}, p);
      if (item && !item.suppressed) { p.setAttribute("fill", "#8fc5a3"); title.textContent = `${f.id}: ${fmt(item.value / 1000, 0)} kWh`; }
      else { p.setAttribute("fill", "#cccccc"); p.classList.add("suppressed"); title.textContent = `${f.id}: ${item ? item.reason : T.no_data}`; }
    }
  }

  function operator() {
    const load = new EventSource("/v1/stream/load?every_s=2");
    load.addEventListener("load", (e) => {
      const rows = JSON.parse(e.data);
      const items = [];
      for (const r of rows) {
        items.push(r.suppressed ? {label: `${r.name} ${T.load}`, value: 0, cls: "suppressed", suppressed: true}
          : {label: `${r.name} ${T.load}`, value: r.consumption_kw});
        items.push({label: `${r.name} ${T.capacity}`, value: r.capacity_kw, cls: "prev"});
      }
      bars(document.getElementById("load-chart"), items, "kW");
    });
    const feed = document.getElementById("alert-feed");
    const alerts = new EventSource("/v1/stream/alerts");
    alerts.addEventListener("alert", (e) => {
      const a = JSON.parse(e.data);
      const li = document.createElement("li");
      li.className = "alert level-" + a.level;
      li.dataset.alertId = a.alert_id;
      li.textContent = `${new Date(a.occurred_at).toLocaleTimeString(lang)} · ${a.iris} · ${a.change} · ${T.level} ${a.level} · ${a.load_suppressed ? T.suppressed : fmt(a.load_kw)} / ${fmt(a.capacity_kw)} kW`;
      feed.prepend(li);
    });
  }

  function login() {
    if (new URLSearchParams(location.search).get("erased")) document.getElementById("erased").hidden = false;
    document.getElementById("login-form").onsubmit = async (ev) => {
      ev.preventDefault();
      const data = new FormData(ev.target);
      sessionStorage.removeItem("sen1-city-key");
      const r = await fetch("/v1/auth/login", {method: "POST", credentials: "same-origin",
        headers: {"content-type": "application/json"},
        body: JSON.stringify({email: data.get("email"), password: data.get("password")})});
      document.getElementById("login-error").hidden = r.ok || r.status === 429;
      document.getElementById("login-busy").hidden = r.status !== 429;
      if (!r.ok) return;
      const body = await r.json();
      location.href = (body.role === "operator" ? "/operator" : "/resident") + "?lang=" + lang;
    };
    document.getElementById("city-form").onsubmit = (ev) => {
      ev.preventDefault();
      sessionStorage.setItem("sen1-city-key", new FormData(ev.target).get("key"));
      location.href = "/city?lang=" + lang;
    };
  }

  const out = document.getElementById("logout");
  if (out) out.onclick = async () => {
    sessionStorage.removeItem("sen1-city-key");
    await fetch("/v1/auth/logout", {method: "POST", credentials: "same-origin"});
    location.href = "/?lang=" + lang;
  };
  const pages = {login, resident, city, operator};
  const run = pages[document.body.dataset.page];
  if (run) Promise.resolve(run()).catch((e) => console.error(e));
})();
