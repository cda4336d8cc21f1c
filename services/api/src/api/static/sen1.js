// SEN1 dashboard: plain JS on vendored uPlot (charts) and Leaflet (map); no CDN, works offline.
"use strict";
(function () {
  const T = JSON.parse(document.getElementById("sen1-i18n").textContent);
  const lang = document.body.dataset.lang;
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
  const iso = (d) => d.toLocaleDateString("sv-SE");  // YYYY-MM-DD in local time
  // The api's secrecy reasons are English (one text for every client): the page
  // says the known ones in its own language, and any other as it came.
  const PARENT_FR = {commune: "la commune", neighbourhood: "l’IRIS", parcel: "la parcelle"};
  const why = (r) => {
    if (!r || lang !== "fr") return r || "";
    let m = /^fewer than (\d+) delivery points$/.exec(r);
    if (m) return `moins de ${m[1]} points de livraison`;
    m = /^one delivery point exceeds (\d+)% of the total$/.exec(r);
    if (m) return `un point de livraison dépasse ${m[1]} % du total`;
    m = /^withheld so that no group under the threshold can be derived by difference with its (\w+)$/.exec(r);
    if (m) return `masqué pour qu’aucun groupe sous le seuil ne se déduise par différence avec ${PARENT_FR[m[1]] || m[1]}`;
    return r;
  };
  // the pages' own modules (self-consumption.js, loaded after this one) say the
  // reasons with the same words
  window.SEN1 = Object.assign(window.SEN1 || {}, {why});
  const addDays = (d, n) => { const x = new Date(d); x.setDate(x.getDate() + n); return x; };

  // The live grid alert of my neighbourhood and what to do about it.
  async function gridAlert(iris) {
    const box = document.getElementById("alert-now");
    const show = (level, raisedAt) => {
      box.dataset.level = String(level);
      box.className = level ? "alert level-" + level : "";
      box.textContent = (level ? `${T.level} ${level} · ${new Date(raisedAt).toLocaleTimeString(lang)} · ` : "") + T["advice_" + Math.min(3, level)];
    };
    const page = await api(`/v1/alerts?state=active&iris=${iris}&limit=1`);
    if (page.items.length) show(page.items[0].level, page.items[0].raised_at);
    const stream = new EventSource("/v1/stream/alerts");
    stream.addEventListener("alert", (e) => {
      const a = JSON.parse(e.data);
      if (a.iris === iris) show(a.change === "cleared" ? 0 : a.level, a.occurred_at);
    });
  }
  let myMeters = [];
  async function resident() {
    const select = document.getElementById("meter");
    const meters = (await api("/v1/meters")).items;
    myMeters = meters;
    for (const m of meters) {
      const o = document.createElement("option");
      o.value = m.meter_id; o.textContent = `${m.energy} · …${m.meter_id.slice(-4)}`;
      select.appendChild(o);
    }
    select.onchange = () => showMeter(select.value);
    const iris = (meters.find((m) => m.iris) || {}).iris;
    if (iris) gridAlert(iris).catch((e) => console.error(e));
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
    myMeters = meters;
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
  function hbars(id, items, unit) {  // labelled horizontal bars (HTML): label, bar, value
    const box = document.getElementById(id); box.textContent = "";
    const max = Math.max(1e-9, ...items.map((i) => i.value || 0));
    for (const it of items) {
      const row = document.createElement("div"); row.className = "hbar " + (it.cls || "");
      const l = document.createElement("span"); l.className = "hbar-label"; l.textContent = it.label;
      const track = document.createElement("span"); track.className = "hbar-track";
      const bar = document.createElement("span"); bar.className = "hbar-bar";
      bar.style.width = it.value === null ? "0" : `${100 * it.value / max}%`; track.appendChild(bar);
      const v = document.createElement("span"); v.className = "hbar-value";
      v.textContent = it.value === null ? (it.missing || "–") : `${fmt(it.value)} ${unit}`;
      row.append(l, track, v); box.appendChild(row);
    }
  }
  const monthOf = (d) => iso(d).slice(0, 7);
  async function curve(base, dayIso) {
    const d0 = new Date(dayIso + "T00:00:00"), d1 = addDays(d0, 1);
    const c = await api(`${base}/readings?start=${encodeURIComponent(d0.toISOString())}&end=${encodeURIComponent(d1.toISOString())}`);
    chart("curve-chart", c.items.map((r) => secs(r.start)), [{label: T.curve, unit: "kWh", values: c.items.map((r) => r.kwh)}],
      {xFormat: timeLabel, xLabel: T.hour, height: 220});
    document.getElementById("curve-empty").hidden = c.items.length > 0;  // say why it is empty
  }
  async function showMeter(id) {
    const today = new Date(); today.setHours(0, 0, 0, 0);
    const start = addDays(today, -365), base = `/v1/meters/${id}`;
    document.getElementById("export").href = `${base}/daily.csv?start=${iso(start)}&end=${iso(today)}`;
    const daily = await api(`${base}/daily?start=${iso(start)}&end=${iso(addDays(today, 1))}`);
    const month0 = monthOf(today);
    const contract = await api(`${base}/cost?month=${month0}`).catch(() => null);
    const x = daily.items.map((i) => secs(i.period + "T00:00:00"));
    let defs = [{label: T.kwh, unit: "kWh", values: daily.items.map((i) => i.kwh), bars: true}];
    if (contract && contract.option && contract.option.toUpperCase().startsWith("TEMPO")) {
      // one bar series per Tempo colour: each day drawn in its tariff's colour
      const days = await api(`/v1/reference/tempo-days?start=${iso(start)}&end=${iso(addDays(today, 1))}`).catch(() => []);
      const colour = Object.fromEntries(days.map((d) => [d.day, d.colour.toLowerCase()]));
      const paint = {blue: "#1f63b5", white: "#8d96a0", red: "#b42318"};
      defs = ["blue", "white", "red", "unknown"].map((c) => ({label: T["tempo_" + c], unit: "kWh", bars: true,
        color: paint[c] || "#3f3f46", values: daily.items.map((i) => ((colour[i.period] || "unknown") === c ? i.kwh : null))}))
        .filter((d) => d.values.some((v) => v !== null));
    }
    // Production where the home has some (a PV sensor or the PRM's production
    // curve): a line over the bars, the sum of the producing meters of the point.
    const producers = [id].concat(myMeters.filter((m) => m.meter_id !== id && m.energy === "electricity"
      && m.direction === "production").map((m) => m.meter_id));
    const made = {};
    for (const pid of producers) {
      const pd = await api(`/v1/meters/${pid}/daily?start=${iso(start)}&end=${iso(addDays(today, 1))}&direction=production`).catch(() => null);
      for (const i of (pd ? pd.items : [])) made[i.period] = (made[i.period] || 0) + i.kwh;
    }
    if (Object.keys(made).length) {
      defs.push({label: T.elec_prod, unit: "kWh", color: "#b8860b",
        values: daily.items.map((i) => (i.period in made ? made[i.period] : null))});
      const sumOf = (o) => Object.values(o).reduce((a, v) => a + v, 0);
      const used = sumOf(Object.fromEntries(daily.items.filter((i) => i.period in made).map((i) => [i.period, i.kwh])));
      const share = document.getElementById("prod-share");
      if (share) { share.hidden = false; share.textContent = `${T.self_share}${lang === "fr" ? " :" : ":"} ${fmt(sumOf(made), 0)} / ${fmt(used, 0)} kWh`; }
    }
    chart("daily-chart", x, defs, {xFormat: dayLabel, height: 260});
    const dayInput = document.getElementById("curve-day");
    const last = daily.items.length ? daily.items[daily.items.length - 1].period : iso(addDays(today, -1));
    dayInput.max = iso(today); dayInput.value = last;
    dayInput.onchange = () => { if (dayInput.value) curve(base, dayInput.value).catch((e) => console.error(e)); };
    await curve(base, last);
    const month = monthOf(today), lastYearMonth = `${today.getFullYear() - 1}${month.slice(4)}`;
    const [cmp, old, cost, co2] = await Promise.all([
      api(`${base}/comparison?month=${month}`),
      api(`${base}/comparison?month=${lastYearMonth}`).catch(() => null),
      api(`${base}/cost?month=${month}`).catch(() => null),
      api(`${base}/co2?month=${month}`).catch(() => null)]);
    document.getElementById("m-kwh").textContent = `${fmt(cmp.my_kwh)} kWh`;
    document.getElementById("p-kwh").textContent = `${fmt(cmp.previous_month_kwh)} kWh`;
    const sim = document.getElementById("s-kwh");
    sim.textContent = cmp.suppressed ? T.suppressed : `${fmt(cmp.similar_mean_kwh)} kWh`;
    sim.className = cmp.suppressed ? "suppressed" : "";
    if (cmp.reason) sim.title = why(cmp.reason);
    document.getElementById("m-eur").textContent = cost ? `${fmt(cost.total_eur, 2)} €` : "–";
    document.getElementById("m-co2").textContent = co2 ? `${fmt(co2.kg_co2e, 1)} kg CO2e` : "–";
    hbars("compare-chart", [
      {label: T.month, value: cmp.my_kwh}, {label: T.last_month, value: cmp.previous_month_kwh, cls: "prev"},
      {label: T.last_year, value: old && old.my_kwh ? old.my_kwh : null, cls: "prev", missing: T.no_data},
      {label: T.similar, value: cmp.suppressed ? null : cmp.similar_mean_kwh, cls: "sim", missing: T.suppressed}], "kWh");
  }

  // ---- charts (uPlot, vendored) -------------------------------------------
  window.sen1Charts = window.sen1Charts || {};
  const COLORS = ["#1f6f4a", "#b8860b", "#7b3fa0", "#5b6b73"];
  function chart(id, x, series, opts) {
    const box = document.getElementById(id);
    box.textContent = "";
    if (window.sen1Charts[id]) window.sen1Charts[id].destroy();
    const width = Math.max(280, box.clientWidth || 600);
    const units = [...new Set(series.map((s) => s.unit))];
    const hourly = opts.xLabel === T.hour;  // axis ticks in the page's language, not uPlot's English
    const xValues = (u, splits) => splits.map((v) => new Date(v * 1000).toLocaleString(lang, hourly
      ? {hour: "2-digit", minute: "2-digit"} : {day: "numeric", month: "short"}));
    const axes = [{stroke: "#333", grid: {stroke: "#e3e6e3"}, values: xValues}];
    units.forEach((u, k) => axes.push({scale: u, side: k ? 1 : 3, label: u, stroke: "#333",
      grid: {show: k === 0, stroke: "#e3e6e3"}, size: 60}));
    const scales = {x: {time: opts.time !== false}};
    if (series.some((s) => s.bars) && x.length) {  // half a bucket of room each side
      const half = x.length > 1 ? (x[1] - x[0]) / 2 : 43200;
      scales.x.range = () => [x[0] - half, x[x.length - 1] + half];
    }
    units.forEach((u) => { scales[u] = {range: (self, lo, hi) => [0, hi > 0 ? hi * 1.08 : 1]}; });
    const cfg = {width, height: opts.height || 240, scales, axes,
      legend: {live: true}, cursor: {drag: {x: true, y: false}},
      series: [{label: opts.xLabel || T.date, value: opts.xFormat}].concat(series.map((s, k) => ({
        label: s.label, scale: s.unit, stroke: s.color || COLORS[k % COLORS.length],
        fill: s.bars ? (s.color || COLORS[k % COLORS.length]) : undefined, width: s.bars ? 0 : 2,
        dash: s.dash, paths: s.bars ? uPlot.paths.bars({size: [0.7, 40]}) : undefined,
        points: {show: false}, value: (u, v) => v === null || v === undefined ? "–" : `${fmt(v)} ${s.unit}`,
      })))};
    const u = new uPlot(cfg, [x].concat(series.map((s) => s.values)), box);
    box.dataset.points = String(x.length);
    box.dataset.series = series.map((s) => s.label).join("|");
    window.sen1Charts[id] = u;
    return u;
  }
  window.addEventListener("resize", () => {  // charts follow the width (phone rotation)
    for (const [id, u] of Object.entries(window.sen1Charts)) {
      const box = document.getElementById(id);
      if (box && box.clientWidth) u.setSize({width: Math.max(280, box.clientWidth), height: u.height});
    }
  });
  {
  }
  const secs = (ts) => Math.round(new Date(ts).getTime() / 1000);
  const dayLabel = (u, v) => v === null || v === undefined ? "–" : new Date(v * 1000).toLocaleDateString(lang);
  const timeLabel = (u, v) => v === null || v === undefined ? "–" : new Date(v * 1000).toLocaleString(lang, {dateStyle: "short", timeStyle: "short"});

  // ---- city ----------------------------------------------------------------
  const SCALE = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"];
  const SUPPRESSED_FILL = "#8c8c8c", EMPTY_FILL = "#ffffff";
  const plusDays = (s, n) => iso(addDays(new Date(s + "T00:00:00"), n));
  const monthStart = (d) => iso(new Date(d.getFullYear(), d.getMonth(), 1));
  function period(kind, custom) {
    const today = new Date(); today.setHours(0, 0, 0, 0);
    if (kind === "day") { const y = addDays(today, -1); return {start: iso(y), end: iso(today), total: "P1D", step: "PT1H"}; }
    if (kind === "year") {
      const end = monthStart(today), s = new Date(today.getFullYear() - 1, today.getMonth(), 1);
      return {start: iso(s), end, total: "P1M", step: "P1M"};
    }
    if (kind === "custom" && custom.start && custom.end && custom.end > custom.start) {
      const days = (new Date(custom.end) - new Date(custom.start)) / 864e5;
      return {start: custom.start, end: custom.end, total: "P1D", step: days > 92 ? "P1M" : "P1D"};
    }
    const end = monthStart(today), s = monthStart(addDays(new Date(end + "T00:00:00"), -1));
    return {start: s, end, total: "P1M", step: "P1D"};  // the last full month
  }
  const lastYear = (d) => `${Number(d.slice(0, 4)) - 1}${d.slice(4)}`;
  async function rollup(scope, id, p, bucket, energy, direction, shift) {
    const start = shift ? lastYear(p.start) : p.start, end = shift ? lastYear(p.end) : p.end;
    const q = `bucket=${bucket}&start=${start}&end=${end}&energy=${energy || "electricity"}&direction=${direction || "consumption"}&limit=5000`;
    return api(`/v1/rollups/${scope}/${encodeURIComponent(id)}?${q}`).then((r) => r.items).catch(() => []);
  }
  function breaks(values) {
    const v = values.filter((x) => x !== null && isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return [];
    const q = [1, 2, 3, 4].map((k) => v[Math.min(v.length - 1, Math.floor(k * v.length / 5))]);
    return [...new Set(q)].filter((x) => x > v[0]);  // distinct edges only: no "225 – 225"
  }
  const classOf = (x, br) => { let k = 0; while (k < br.length && x >= br[k]) k++; return k; };
  function fillOf(t, br) {
    if (!t) return EMPTY_FILL;
    if (t.suppressed) return SUPPRESSED_FILL;
    if (t.per === null) return EMPTY_FILL;
    return br.length ? SCALE[classOf(t.per, br)] : SCALE[2];  // one value: a mid colour, visible
  }
  function legend(br, p, unit, reasons) {  // classes of the value per delivery point, with units
    const box = document.getElementById("legend");
    box.textContent = "";
    const u = `${unit || "kWh"} ${T.per_point}`;
    const h = document.createElement("p"); h.className = "legend-title";
    h.textContent = `${u} · ${p.start} → ${p.end}`; box.appendChild(h);
    const ul = document.createElement("ul"); box.appendChild(ul);
    const item = (color, text, cls) => { const li = document.createElement("li"); if (cls) li.className = cls;
      const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = color; li.appendChild(sw);
      li.appendChild(document.createTextNode(text)); ul.appendChild(li); };
    const edges = [0].concat(br);
    if (!br.length) item(SCALE[2], u, "class");
    else SCALE.slice(0, br.length + 1).forEach((c, k) => item(c, k < br.length ? `${fmt(edges[k], 0)} – ${fmt(edges[k + 1], 0)} ${u}` : `≥ ${fmt(edges[k], 0)} ${u}`, "class"));
    item(SUPPRESSED_FILL, T.suppressed, "suppressed-key");
    item(EMPTY_FILL, T.no_data, "empty-key");
    if ((reasons || []).length) {  // why the grey cells are grey
      const why = document.createElement("p"); why.className = "legend-why"; why.textContent = T.why_hidden;
      box.appendChild(why);
      const rl = document.createElement("ul"); rl.className = "reasons"; box.appendChild(rl);
      for (const r of reasons) { const li = document.createElement("li"); li.textContent = r; rl.appendChild(li); }
    }
  }
  async function city() {
    const me = await api("/v1/auth/me");
    const [hoods, parcels] = await Promise.all([api("/v1/territory/neighbourhoods.geojson"),
      api("/v1/territory/parcels.geojson")]);
    const mine = (iris) => me.kind !== "city" || (me.scope === "commune" ? iris.startsWith(me.scope_id) : iris === me.scope_id);
    const commune = me.kind === "city" && me.scope === "commune" ? me.scope_id : (hoods.features[0] || {id: ""}).id.slice(0, 5);
    const names = Object.fromEntries(hoods.features.map((f) => [f.id, f.properties.name]));
    const map = L.map("map", {zoomSnap: 0.25, attributionControl: false, keyboard: true});
    map.getContainer().style.background = "#f4f6f4";
    const state = {kind: "month", scope: "commune", id: commune, label: `${T.commune} ${commune}`, parcel: null};
    const hoodLayer = L.geoJSON(hoods, {style: () => ({className: "hood", color: "#17402e", weight: 2, fillOpacity: 0.85, fillColor: EMPTY_FILL})}).addTo(map);
    const parcelLayer = L.geoJSON({type: "FeatureCollection", features: parcels.features.filter((f) => mine(f.properties.iris))},
      {style: () => ({className: "parcel", color: "#222", weight: 0.6, fillOpacity: 0, fillColor: EMPTY_FILL})}).addTo(map);
    if (hoods.features.length) map.fitBounds(hoodLayer.getBounds(), {padding: [8, 8]});
    hoodLayer.eachLayer((l) => l.on("click", () => drill("neighbourhood", l.feature.id, l.feature.properties.name, l)));
    parcelLayer.eachLayer((l) => l.on("click", () => drill("parcel", l.feature.id, l.feature.id, l)));
    const form = document.getElementById("period-form");
    const p0 = period("month", {});
    document.getElementById("p-start").value = p0.start; document.getElementById("p-end").value = p0.end;
    form.onsubmit = (ev) => { ev.preventDefault(); refresh(); };
    form.querySelectorAll("input[name=kind]").forEach((r) => r.onchange = () => {
      const p = period(r.value, {}); document.getElementById("p-start").value = p.start; document.getElementById("p-end").value = p.end; });
    // What the map colours: one measure, asked once per level (/v1/map/{level}).
    const measure = document.getElementById("map-measure");
    if (measure) measure.onchange = () => refresh().catch((e) => console.error(e));
    function mapQuery(p) {
      const [energy, direction] = (measure ? measure.value : "electricity:consumption").split(":");
      // the shapes came once with the territory: values only
      return `commune=${commune}&start=${p.start}&end=${p.end}&energy=${energy}&direction=${direction}&geometry=false`;
    }
    function totalOf(props) {  // a feature's properties as the page draws them
      if (props.state === "empty") return null;
      if (props.state === "suppressed") return {suppressed: true, reason: props.reason};
      const f = props.unit === "Wh" ? 1000 : 1, unit = props.unit === "Wh" ? "kWh" : props.unit;
      return {kwh: props.value / f, points: props.delivery_points, unit,
        per: props.value_per_point === null ? null : props.value_per_point / f};
    }
    let mapDocs = {parcel: {features: []}};
    async function paint(p) {
      const q = mapQuery(p);
      const [hm, pm] = await Promise.all([api(`/v1/map/neighbourhood?${q}`), api(`/v1/map/parcel?${q}`)]);
      mapDocs = {neighbourhood: hm, parcel: pm};
      const byId = {};
      for (const f of hm.features.concat(pm.features)) byId[f.id] = totalOf(f.properties);
      const unit = (Object.values(byId).find((t) => t && t.unit) || {unit: "kWh"}).unit;
      const br = breaks(Object.values(byId).map((t) => t && !t.suppressed ? t.per : null));
      const style = (l) => {
        const t = byId[l.feature.id];
        // a parcel without data is left transparent so its IRIS shows through
        const clear = !t && l.feature.properties.idu;
        l.setStyle({fillColor: fillOf(t, br), dashArray: t && t.suppressed ? "3 3" : null, fillOpacity: clear ? 0 : 0.85});
        const el = l.getElement(); if (el) { el.dataset.id = l.feature.id; el.dataset.state = !t ? "empty" : t.suppressed ? "suppressed" : "published";
          el.classList.toggle("suppressed", !!(t && t.suppressed)); }
        const name = l.feature.properties.name || l.feature.id;
        l.bindTooltip(!t ? `${name}: ${T.no_data}` : t.suppressed ? `${name}: ${T.suppressed} — ${why(t.reason)}`
          : `${name}: ${fmt(t.kwh, 0)} ${t.unit} · ${fmt(t.per, 0)} ${t.unit} ${T.per_point} (${t.points})`, {sticky: true});
      };
      hoodLayer.eachLayer(style); parcelLayer.eachLayer(style);
      const reasons = [...new Set(Object.values(byId).filter((t) => t && t.suppressed).map((t) => why(t.reason)))];
      legend(br, p, unit, reasons);
      const tbody = document.querySelector("#city-table tbody"); tbody.textContent = "";
      for (const f of hoods.features.filter((f) => mine(f.id))) {
        const t = byId[f.id], tr = document.createElement("tr");
        const c = (txt, cls, title) => { const td = cell(tr, txt); if (cls) td.className = cls; if (title) td.title = title; };
        c(f.id);
        // the keyboard's way into the drill-down (map paths are mouse-only)
        const nameCell = cell(tr, ""), go = document.createElement("button");
        go.type = "button"; go.className = "link drill"; go.textContent = f.properties.name;
        go.onclick = () => drill("neighbourhood", f.id, f.properties.name, layerOf(hoodLayer, f.id));
        nameCell.appendChild(go);
        if (!t) { c(T.no_data, "suppressed"); c("–"); }
        else if (t.suppressed) { c(`${T.suppressed} — ${why(t.reason)}`, "suppressed", why(t.reason)); c("–"); }
        else { c(fmt(t.kwh, 0)); c(String(t.points)); }
        tbody.appendChild(tr);
      }
      return byId;
    }
    function layerOf(group, id) { let layer = null; group.eachLayer((l) => { if (l.feature.id === id) layer = l; }); return layer; }
    let shown = {rows: [], header: []};
    async function series(p) {
      const [ec, ep, gc, ly] = await Promise.all([
        rollup(state.scope, state.id, p, p.step, "electricity", "consumption"),
        rollup(state.scope, state.id, p, p.step, "electricity", "production"),
        rollup(state.scope, state.id, p, p.step, "gas", "consumption"),
        rollup(state.scope, state.id, p, p.step, "electricity", "consumption", true)]);
      const keys = [...new Set(ec.concat(ep, gc).map((i) => i.bucket_start))].sort();
      const lyKeys = ly.map((i) => i.bucket_start);
      const x = keys.length ? keys.map(secs) : [];
      const pick = (items, unitFactor) => { const m = Object.fromEntries(items.map((i) => [i.bucket_start, i]));
        return keys.map((k) => m[k] && !m[k].suppressed ? m[k].value / unitFactor : null); };
      const shiftKey = (k) => { const d = new Date(k); d.setFullYear(d.getFullYear() - 1); return d.getTime(); };
      const lyMap = Object.fromEntries(ly.map((i) => [new Date(i.bucket_start).getTime(), i]));
      const lyVals = keys.map((k) => { const i = lyMap[shiftKey(k)]; return i && !i.suppressed ? i.value / 1000 : null; });
      const gasUnit = gc.length ? (gc[0].unit === "Wh" ? "kWh" : gc[0].unit) : "kWh";
      const defs = [
        {label: T.elec_cons, unit: "kWh", values: pick(ec, 1000), bars: true},
        {label: T.last_year, unit: "kWh", values: lyVals, color: "#5b6b73", dash: [6, 4]},
        {label: T.elec_prod, unit: "kWh", values: pick(ep, 1000), color: "#b8860b"},
        {label: T.gas_cons, unit: gasUnit, values: pick(gc, gc.length && gc[0].unit === "Wh" ? 1000 : 1), color: "#7b3fa0"},
      ].filter((s) => s.values.some((v) => v !== null) || s.label === T.elec_cons);
      const hourly = p.step === "PT1H";
      chart("series-chart", x, defs, {xFormat: hourly ? timeLabel : dayLabel, xLabel: hourly ? T.hour : T.date});
      const hidden = ec.filter((i) => i.suppressed);
      document.getElementById("series-caption").textContent = `${state.label} · ${p.start} → ${p.end}` +
        (hidden.length ? ` · ${hidden.length} ${T.suppressed} (${why(hidden[0].reason)})` : "") + (lyKeys.length ? "" : "");
      shown = {header: [T.date].concat(defs.map((s) => `${s.label} (${s.unit})`)),
        rows: keys.map((k, r) => [k].concat(defs.map((s) => s.values[r])))};
      const table = document.getElementById("series-table");
      const thr = document.createElement("tr"); shown.header.forEach((h) => { const th = document.createElement("th"); th.textContent = h; th.scope = "col"; thr.appendChild(th); });
      table.tHead.textContent = ""; table.tHead.appendChild(thr);
      const tb = table.tBodies[0]; tb.textContent = "";
      for (const row of shown.rows) { const tr = document.createElement("tr");
        cell(tr, hourly ? new Date(row[0]).toLocaleString(lang) : new Date(row[0]).toLocaleDateString(lang));
        row.slice(1).forEach((v) => cell(tr, v === null ? "–" : fmt(v, 1))); tb.appendChild(tr); }
    }
    const csvText = (rows) => rows.map((r) => r.map((v) => v === null || v === undefined ? ""
      : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v)).join(",")).join("\n") + "\n";
    function download(text, name) {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], {type: "text/csv"}));
      a.download = name; document.body.appendChild(a); a.click(); a.remove();
    }
    // The map as drawn: every IRIS and parcel of the period and measure, with the
    // reason of each suppressed one (never a point count it does not publish).
    document.getElementById("csv-map").onclick = () => {
      const rows = [["level", "id", "name", "iris", "state", "value", "unit", "delivery_points", "value_per_point", "reason"]];
      for (const level of ["neighbourhood", "parcel"]) {
        for (const f of (mapDocs[level] || {features: []}).features) {
          const t = totalOf(f.properties);
          rows.push([level, f.id, f.properties.name, f.properties.iris, f.properties.state,
            t && !t.suppressed ? t.kwh : null, t && t.unit ? t.unit : null, t && !t.suppressed ? t.points : null,
            t && !t.suppressed ? t.per : null, f.properties.reason]);
        }
      }
      const [energy, direction] = (measure ? measure.value : "electricity:consumption").split(":");
      download(csvText(rows), `sen1-map-${commune}-${energy}-${direction}-${current.start}-${current.end}.csv`);
    };
    document.getElementById("csv-screen").onclick = () => {
      const esc = (v) => v === null || v === undefined ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
      const text = [shown.header].concat(shown.rows).map((r) => r.map(esc).join(",")).join("\n") + "\n";
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], {type: "text/csv"}));
      a.download = `sen1-${state.scope}-${state.id}-${current.start}-${current.end}.csv`;
      document.body.appendChild(a); a.click(); a.remove();
    };
    let current = p0, totals = {};
    // The children of the scope shown, with a keyboard way down: the parcels of an
    // IRIS, the buildings of a parcel (one /v1/map call for the buildings).
    async function buildings() {
      const pcard = document.getElementById("parcels-card");
      if (pcard) {
        pcard.hidden = state.scope !== "neighbourhood";
        if (state.scope === "neighbourhood") {
          const tb = document.querySelector("#parcels tbody"); tb.textContent = "";
          for (const f of (mapDocs.parcel || {features: []}).features.filter((f) => f.properties.iris === state.id)) {
            const tr = document.createElement("tr"); tr.dataset.id = f.id; const td = cell(tr, "");
            const btn = document.createElement("button"); btn.type = "button"; btn.className = "link drill"; btn.textContent = f.id;
            btn.onclick = () => drill("parcel", f.id, f.id, layerOf(parcelLayer, f.id)); td.appendChild(btn);
            const t = totalOf(f.properties);
            const v = cell(tr, !t ? T.no_data : t.suppressed ? `${T.suppressed} — ${why(t.reason)}` : fmt(t.kwh, 0));
            cell(tr, t && !t.suppressed ? String(t.points) : "–");
            if (!t || t.suppressed) v.className = "suppressed"; tb.appendChild(tr);
          }
        }
      }
      const card = document.getElementById("buildings-card");
      if (state.scope !== "parcel") { card.hidden = true; return; }
      const doc = await api(`/v1/map/building?${mapQuery(current)}&parcel=${encodeURIComponent(state.id)}`);
      const tb = document.querySelector("#buildings tbody"); tb.textContent = "";
      for (const f of doc.features) {
        const b = f.properties, tr = document.createElement("tr"); tr.dataset.id = f.id; const td = cell(tr, "");
        const btn = document.createElement("button"); btn.type = "button"; btn.className = "link drill"; btn.textContent = b.name;
        btn.onclick = () => drill("building", f.id, b.name); td.appendChild(btn);
        cell(tr, b.building_type); cell(tr, fmt(b.surface_m2, 0));
        const t = totalOf(b);
        const v = cell(tr, !t ? T.no_data : t.suppressed ? `${T.suppressed} — ${why(t.reason)}` : fmt(t.kwh, 0));
        if (!t || t.suppressed) v.className = "suppressed"; tb.appendChild(tr);
      }
      card.hidden = false;
    }
    function crumbs() {
      const nav = document.getElementById("crumbs"); nav.textContent = "";
      const add = (text, fn) => { const b = document.createElement("button"); b.type = "button"; b.className = "link"; b.textContent = text; b.onclick = fn; nav.appendChild(b); };
      add(`${T.commune} ${commune}`, () => drill("commune", commune, `${T.commune} ${commune}`));
      if (state.scope !== "commune") { nav.appendChild(document.createTextNode(" › ")); const s = document.createElement("span"); s.textContent = state.label; nav.appendChild(s); }
      document.getElementById("scope-name").textContent = state.label;
    }
    async function drill(scope, id, label, layer) {
      Object.assign(state, {scope, id, label: scope === "neighbourhood" ? `${label} (${id})` : label});
      if (layer && layer.getBounds) map.fitBounds(layer.getBounds(), {padding: [20, 20], maxZoom: 17});
      if (scope === "commune" && hoods.features.length) map.fitBounds(hoodLayer.getBounds(), {padding: [8, 8]});
      crumbs(); await series(current); await buildings();
    }
    async function refresh() {
      const kind = form.querySelector("input[name=kind]:checked").value;
      current = period(kind, {start: document.getElementById("p-start").value, end: document.getElementById("p-end").value});
      document.getElementById("p-start").value = current.start; document.getElementById("p-end").value = current.end;
      crumbs();
      totals = await paint(current); await series(current); await buildings();
      document.getElementById("map").dataset.ready = "1";
    }
    window.sen1City = {drill, totals: () => totals};
    await refresh();
  }

  function operator() {
    const body = document.querySelector("#load-table tbody");
    const th = (document.getElementById("thresholds").dataset.thresholds || "").split(",").map(Number).filter((x) => x > 0);
    const top = Math.max(1.25, ...th.map((x) => x + 0.15));
    function draw(rows) {
      body.textContent = "";
      for (const r of rows) {
        const tr = document.createElement("tr"); tr.dataset.iris = r.iris;
        cell(tr, `${r.name} (${r.iris})`);
        const pct = r.suppressed ? "" : ` (${fmt(100 * r.consumption_kw / r.capacity_kw, 0)} %)`;
        const unmeasured = r.suppressed && r.live_measured === false;
        const load = cell(tr, unmeasured ? T.no_live : r.suppressed ? `${T.suppressed}` : `${fmt(r.consumption_kw)} kW${pct}`);
        if (unmeasured) { load.className = "suppressed"; load.title = T.no_live_why; }
        else if (r.suppressed) { load.className = "suppressed"; load.title = why(r.reason); }
        cell(tr, `${fmt(r.capacity_kw)} kW`);
        const gauge = cell(tr, ""); gauge.className = "gauge";
        const ratio = r.suppressed ? null : r.consumption_kw / r.capacity_kw;
        const bar = document.createElement("div"); bar.className = "gauge-bar";
        const level = ratio === null ? -1 : th.filter((x) => ratio >= x).length;
        bar.dataset.level = String(level);
        bar.style.width = ratio === null ? "0" : `${Math.min(100, 100 * ratio / top)}%`;
        bar.setAttribute("role", "img");
        bar.setAttribute("aria-label", ratio === null ? T.suppressed : `${fmt(100 * ratio, 0)} % ${T.capacity}`);
        gauge.appendChild(bar);
        for (const [k, x] of [[0, 1]].concat(th.map((x, k) => [k + 1, x]))) {
          const m = document.createElement("span"); m.className = k ? "tick level-" + k : "tick cap";
          m.style.left = `${100 * x / top}%`; m.title = k ? `${T.level} ${k}: ${fmt(100 * x, 0)} %` : `${T.capacity} 100 %`;
          gauge.appendChild(m);
        }
        body.appendChild(tr);
      }
    }
    api("/v1/live/load").then(draw).catch((e) => console.error(e));
    const load = new EventSource("/v1/stream/load?every_s=2");
    load.addEventListener("load", (e) => draw(JSON.parse(e.data)));
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
    api("/v1/ops/ingestion").then((h) => {
      const tb = document.querySelector("#ingestion tbody");
      const n = (v) => v === null || v === undefined ? "–" : String(v);
      for (const src of h.sources) {
        const tr = document.createElement("tr"); tr.dataset.source = src.source;
        cell(tr, src.source); cell(tr, n(src.series));
        const newest = src.newest_reading_end || src.newest_file_at;  // sge: its newest flux file
        cell(tr, newest ? new Date(newest).toLocaleString(lang) : T.no_data);
        const st = cell(tr, n(src.stale_series)); if (src.stale_series) st.className = "error";
        // enedis: days from its cursors; grdf: what its collector says is left (PCEs)
        const left = src.backlog_days ?? src.backlog;
        const units = {days: T.unit_days, PCEs: T.unit_pces, sites: T.unit_sites};
        const unit = src.backlog_days !== null && src.backlog_days !== undefined ? T.unit_days
          : (units[src.backlog_unit] || src.backlog_unit || "");
        cell(tr, left === null || left === undefined ? "–" : `${fmt(left, 0)} ${unit}`.trim());
        cell(tr, n(src.open_holes)); cell(tr, n(src.stopped_cursors));
        const q = src.quota;
        const hour = q && q.calls_last_hour !== null && q.cap_per_hour  // Enedis' Q4 binds
          ? ` · ${T.last_hour} ${fmt(q.calls_last_hour, 0)} / ${fmt(q.cap_per_hour, 0)}` : "";
        const qc = cell(tr, q ? `${fmt(q.calls_today, 0)} / ${q.cap_per_day === null ? "–" : fmt(q.cap_per_day, 0)}${hour}` : "–");
        if (q && ((q.cap_per_day && q.calls_today >= 0.9 * q.cap_per_day)
          || (hour && q.calls_last_hour >= 0.9 * q.cap_per_hour))) qc.className = "error";
        if (q) qc.title = new Date(q.updated_at).toLocaleString(lang);
        cell(tr, q ? `${fmt(q.rate_per_s, 1)} / ${q.cap_per_s === null ? "–" : fmt(q.cap_per_s, 1)}` : "–");
        // sge's flux files dead-lettered (its own record) add to the topic's letters
        const files = src.dead_letters || 0;
        const dl = cell(tr, `${src.dead_letters_24h} / ${src.dead_letters_7d + files}`);
        if (src.dead_letters_24h || files) dl.className = "error";
        tb.appendChild(tr);
      }
      const notes = {no_status_today: T.quota_no_status, no_quota_known: T.quota_unknown};
      const missing = h.sources.filter((x) => x.quota_note).map((x) => `${x.source} (${notes[x.quota_note]})`);
      document.getElementById("ingestion-not-here").textContent = missing.length ? `${T.not_here} ${missing.join(" ; ")}` : "";
      const db = document.querySelector("#dead-letters tbody");
      for (const d of h.dead_letters) {
        const tr = document.createElement("tr"); tr.dataset.service = d.service;
        cell(tr, d.service); cell(tr, d.source); cell(tr, String(d.last_24h)); cell(tr, String(d.last_7d));
        cell(tr, new Date(d.last_seen).toLocaleString(lang));
        cell(tr, d.reasons.map((x) => `${x.reason} (${x.count})`).join(" · "));
        db.appendChild(tr);
      }
      document.getElementById("dead-letters-none").hidden = h.dead_letters.length > 0;
      const when = (t) => t ? new Date(t).toLocaleString(lang) : "–";
      const pb = document.querySelector("#peers tbody");
      for (const p of h.peers) {
        const tr = document.createElement("tr"); tr.dataset.peer = p.domain;
        cell(tr, p.domain); cell(tr, when(p.newest_received_at)); cell(tr, when(p.newest_bucket_start));
        const f = cell(tr, when(p.failing_since)); if (p.failing_since) f.className = "error";
        pb.appendChild(tr);
      }
      document.getElementById("peers-none").hidden = h.peers.length > 0;
    }).catch((e) => console.error(e));
    api("/v1/alerts?limit=100").then((page) => {
      const tb = document.querySelector("#alert-history tbody");
      for (const a of page.items) {
        const tr = document.createElement("tr"); tr.dataset.alertId = a.alert_id;
        cell(tr, new Date(a.raised_at).toLocaleString(lang)); cell(tr, a.iris);
        cell(tr, a.state === "cleared" ? String(a.peak_level) : String(a.level)); cell(tr, a.state);
        cell(tr, a.load_suppressed ? T.suppressed : fmt(a.peak_load_kw)); cell(tr, fmt(a.capacity_kw));
        cell(tr, a.cleared_at ? new Date(a.cleared_at).toLocaleString(lang) : "–");
        tb.appendChild(tr);
      }
    }).catch((e) => console.error(e));
  }

  async function portfolio() {
    const page = await api("/v1/me/portfolio");
    const rank = document.getElementById("rank");
    const num = (v, d) => v === null || v === undefined ? "–" : fmt(v, d);
    let rows = [];
    function draw() {
      const key = rank.value;
      const sites = page.sites.slice().sort((a, b) => (b[key] ?? -Infinity) - (a[key] ?? -Infinity));
      const tb = document.querySelector("#portfolio tbody"); tb.textContent = "";
      rows = sites.map((s) => [s.address || s.name || s.building_id || tail(s.meter_id), s.building_type || s.sector,
        s.surface_m2, s.kwh, s.kwh_per_m2, s.change_pct, s.night_ratio, s.weekend_ratio,
        s.anomalies.map((a) => T["an_" + a] || a).join("; ")]);
      sites.forEach((s, k) => {
        const tr = document.createElement("tr"); tr.dataset.meter = tail(s.meter_id);
        tr.dataset.anomalies = s.anomalies.join(" ");
        const r = rows[k];
        cell(tr, r[0]); cell(tr, r[1]); cell(tr, num(r[2], 0)); cell(tr, num(r[3], 0)); cell(tr, num(r[4], 1));
        const ch = cell(tr, r[5] === null ? "–" : `${r[5] > 0 ? "+" : ""}${fmt(r[5], 1)} %`);
        if (r[5] !== null && r[5] > 0) ch.className = "error";
        cell(tr, num(r[6], 2)); cell(tr, num(r[7], 2));
        const an = cell(tr, r[8] || "–"); if (r[8]) an.className = "error";
        tb.appendChild(tr);
      });
      hbars("portfolio-chart", sites.map((s) => ({label: s.address || s.name || tail(s.meter_id), value: s.kwh_per_m2,
        cls: s.anomalies.length ? "sim" : "", missing: T.no_data})), "kWh/m²");
    }
    rank.onchange = draw;
    document.getElementById("portfolio-csv").onclick = () => {
      const head = Array.from(document.querySelectorAll("#portfolio thead th")).map((th) => th.textContent);
      const esc = (v) => v === null || v === undefined ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
      const text = [head].concat(rows).map((r) => r.map(esc).join(",")).join("\n") + "\n";
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], {type: "text/csv"}));
      a.download = `sen1-portfolio-${iso(new Date())}.csv`;
      document.body.appendChild(a); a.click(); a.remove();
    };
    draw();
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
  window.sen1 = {api, chart, fmt, iso, addDays, T, lang};  // for page add-ons (sen1-gas.js)
  const pages = {login, resident, city, operator, portfolio};
  const run = pages[document.body.dataset.page];
  if (run) Promise.resolve(run()).catch((e) => console.error(e));
})();
