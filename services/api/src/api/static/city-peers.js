// City page: what neighbouring collectives share with this commune (federation).
// Separate from sen1.js on purpose: a small module over GET /v1/city/{commune}/peers,
// shown only to a city key of a commune; every value arrives with its provenance.
"use strict";
(function () {
  const lang = document.body.dataset.lang === "en" ? "en" : "fr";
  const W = {
    fr: {title: "Communes voisines (fédération)", hint: "Agrégats que des collectifs voisins partagent avec la commune : reçus signés, signature vérifiée à la réception. Seules les valeurs qui respectent aussi notre secret statistique sont affichées.",
         peer: "Collectif", territory: "Territoire", total: "Total (kWh)", days: "Jours", points: "Points de livraison (min.)", received: "Reçu le", signature: "Signature", verified: "vérifiée", none: "Aucune donnée reçue des voisins sur la période.", neighbourhood: "IRIS", commune: "commune"},
    en: {title: "Neighbouring communes (federation)", hint: "Aggregates that neighbouring collectives share with this commune: received signed, signature verified on receipt. Only values that also meet our statistical secrecy rule are shown.",
         peer: "Collective", territory: "Territory", total: "Total (kWh)", days: "Days", points: "Delivery points (min.)", received: "Received", signature: "Signature", verified: "verified", none: "Nothing received from neighbours over the period.", neighbourhood: "IRIS", commune: "commune"},
  }[lang];
  const fmt = (x, d) => Number(x).toLocaleString(lang, {maximumFractionDigits: d});
  const cell = (tr, text, title) => { const td = document.createElement("td"); td.textContent = text; if (title) td.title = title; tr.appendChild(td); };

  async function get(path, key) {
    const r = await fetch(path, {headers: {"accept": "application/json", "x-api-key": key}, credentials: "same-origin"});
    return r.ok ? r.json() : null;
  }
  function period() {
    const s = document.getElementById("p-start"), e = document.getElementById("p-end");
    const today = new Date();
    const iso = (d) => d.toLocaleDateString("sv-SE");
    const start = s && s.value ? s.value : iso(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 30));
    let end = e && e.value ? e.value : iso(today);
    if (end <= start) end = iso(new Date(new Date(start).getTime() + 86400000));
    return {start, end};
  }
  async function render(card, commune, key) {
    const {start, end} = period();
    const doc = await get(`/v1/city/${commune}/peers?start=${start}&end=${end}`, key);
    if (!doc) return;
    card.hidden = false;
    const head = card.querySelector("thead"), body = card.querySelector("tbody");
    head.textContent = ""; body.textContent = "";
    const hr = document.createElement("tr");
    for (const h of [W.peer, W.territory, W.total, W.days, W.points, W.received, W.signature]) {
      const th = document.createElement("th"); th.textContent = h; hr.appendChild(th);
    }
    head.appendChild(hr);
    let rows = 0;
    for (const peer of doc.peers) {
      for (const s of peer.series) {
        if (!s.values.length) continue;
        const tr = document.createElement("tr");
        const total = s.values.reduce((a, v) => a + v.value, 0) / 1000;
        const pts = Math.min(...s.values.map((v) => v.delivery_points));
        const last = s.values.map((v) => v.received_at).sort().pop();
        cell(tr, peer.peer);
        cell(tr, `${W[s.level] || s.level} ${s.scope_id}`, s.urn);
        cell(tr, fmt(total, 0));
        cell(tr, String(s.values.length));
        cell(tr, String(pts));
        cell(tr, new Date(last).toLocaleString(lang));
        cell(tr, peer.signature_verified ? `✓ ${W.verified}` : "✗", s.values[s.values.length - 1].keyid);
        body.appendChild(tr);
        rows += 1;
      }
    }
    card.querySelector(".peers-empty").hidden = rows > 0;
  }
  async function start() {
    const card = document.getElementById("peers-card");
    const key = sessionStorage.getItem("sen1-city-key");
    if (!card || !key) return;  // only a city key has neighbours to see
    card.querySelector("h2").textContent = W.title;
    card.querySelector(".hint").textContent = W.hint;
    card.querySelector(".peers-empty").textContent = W.none;
    const me = await get("/v1/auth/me", key);
    if (!me || me.kind !== "city" || me.scope !== "commune") return;
    await render(card, me.scope_id, key);
    const form = document.getElementById("period-form");
    if (form) form.addEventListener("submit", () => setTimeout(() => render(card, me.scope_id, key), 0));
  }
  document.addEventListener("DOMContentLoaded", start);
})();
