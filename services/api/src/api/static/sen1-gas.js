// SEN1 resident page, gas: gas days (06:00 -> 06:00) beside electricity, never added to
// it, and the GRDF access right (declare, state, proofs, revoke). Uses window.sen1.
"use strict";
(function () {
  const S = window.sen1;
  if (!S || document.body.dataset.page !== "resident") return;
  const {api, chart, fmt, iso, addDays, T, lang} = S;
  const tail = (id) => "…" + String(id).slice(-4);
  const say = (text, cls) => { const m = document.getElementById("grdf-message"); m.textContent = text; m.className = cls || ""; };
  const cell = (tr, text) => { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; };

  async function gasCard(meters) {
    const gas = meters.find((m) => m.energy === "gas" && m.direction === "consumption");
    const card = document.getElementById("gas");
    if (!gas) { card.hidden = true; return; }
    card.hidden = false;
    const today = new Date(); today.setHours(0, 0, 0, 0);
    const base = `/v1/meters/${gas.meter_id}`;
    const page = await api(`${base}/gas-days?start=${iso(addDays(today, -365))}&end=${iso(addDays(today, 1))}`);
    const x = page.items.map((d) => Math.round(new Date(d.day + "T12:00:00").getTime() / 1000));
    chart("gas-chart", x, [{label: T.gas_kwh, unit: "kWh", bars: true, color: "#7b3fa0",
      values: page.items.map((d) => d.kwh)}], {height: 220,
      xFormat: (u, v) => v === null || v === undefined ? "–" : new Date(v * 1000).toLocaleDateString(lang)});
    const month = iso(today).slice(0, 7);
    const mine = page.items.filter((d) => d.day.startsWith(month));
    const sum = (k) => mine.reduce((a, d) => a + (d[k] || 0), 0);
    document.getElementById("g-kwh").textContent = `${fmt(sum("kwh"))} kWh PCS`;
    document.getElementById("g-m3").textContent = `${fmt(sum("m3"))} m³`;
    const [cost, co2] = await Promise.all([
      api(`${base}/cost?month=${month}`).catch(() => null),
      api(`${base}/co2?month=${month}`).catch(() => null)]);
    // a band without a benchmark price held: its days are unpriced, not 0 €
    const priced = cost && !(cost.unpriced_days.length && !cost.energy_eur);
    document.getElementById("g-eur").textContent = priced ? `${fmt(cost.total_eur, 2)} €` : "–";
    document.getElementById("g-co2").textContent = co2 ? `${fmt(co2.kg_co2e, 1)} kg CO2e` : "–";
    if (cost) document.getElementById("g-price").textContent = `${T.gas_price} (${cost.option}${cost.price_note ? "; " + cost.price_note : ""})`;
  }

  async function post(path, body, isForm) {
    const opts = {method: "POST", credentials: "same-origin", headers: {"accept": "application/json"}};
    if (isForm) opts.body = body;
    else if (body !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(body); }
    const r = await fetch(path, opts);
    const doc = await r.json().catch(() => ({}));
    if (!r.ok) { say(doc.detail || String(r.status), "error"); return null; }
    return doc;
  }

  async function rights() {
    const page = await api("/v1/me/grdf/rights");
    const body = document.querySelector("#grdf-rights tbody");
    body.textContent = "";
    // GRDF's proof deadline, as a reminder above the list (urgent in its last week)
    const reminders = document.getElementById("grdf-reminders");
    reminders.textContent = "";
    for (const g of page.items.filter((i) => i.proof_reminder)) {
      const p = document.createElement("p");
      p.className = g.proof_reminder === "asked" ? "notice" : "notice error";
      p.dataset.meterId = g.meter_id; p.dataset.reminder = g.proof_reminder;
      p.textContent = T["grdf_remind_" + g.proof_reminder]
        .replace("{pce}", tail(g.meter_id)).replace("{date}", g.proof_deadline)
        .replace("{days}", String(Math.abs(g.proof_days_left)));
      reminders.appendChild(p);
    }
    for (const g of page.items) {
      const tr = document.createElement("tr");
      tr.dataset.meterId = g.meter_id; tr.dataset.state = g.state;
      cell(tr, tail(g.meter_id));
      const last = g.last_request;
      const err = g.state === "failed" && last ? ` (${last.error_message || ""})`
        : last && last.status === "queued" && last.retry_at
          ? ` (${T.grdf_retry} ${new Date(last.retry_at).toLocaleString(lang)})` : "";
      cell(tr, (T["gs_" + g.state] || g.state) + err);
      cell(tr, g.data_from ? `${g.data_from} → ${g.data_until || "…"}` : "–");
      cell(tr, g.proof ? `${T["gp_" + g.proof] || g.proof}${g.proof_deadline ? " · " + g.proof_deadline : ""}` : "–");
      const actions = cell(tr, "");
      if (g.proof === "requested" || g.proof === "ko") {
        const input = document.createElement("input");
        input.type = "file"; input.multiple = true; input.accept = "application/pdf,image/png,image/jpeg";
        input.setAttribute("aria-label", T.grdf_send_proofs);
        const send = document.createElement("button"); send.textContent = T.grdf_send_proofs;
        send.onclick = async () => {
          const form = new FormData();
          for (const f of input.files) form.append("files", f);
          if (await post(`/v1/me/grdf/rights/${g.meter_id}/proofs`, form, true)) { say(T.grdf_sent); await rights(); }
        };
        actions.append(input, send);
      }
      if (["sending", "to_validate", "active"].includes(g.state)) {
        const b = document.createElement("button"); b.className = "danger"; b.textContent = T.grdf_revoke;
        b.onclick = async () => {
          if (!confirm(T.confirm_withdraw)) return;
          if (await post(`/v1/me/grdf/rights/${g.meter_id}/revoke`)) { say(T.withdrawn); location.reload(); }
        };
        actions.appendChild(b);
      }
      body.appendChild(tr);
    }
  }

  const form = document.getElementById("grdf-declare");
  const today = new Date(); today.setHours(0, 0, 0, 0);
  form.elements.data_from.value = iso(addDays(today, -364));
  form.elements.right_end.value = iso(addDays(today, 365));
  form.onsubmit = async (e) => {
    e.preventDefault();
    const f = form.elements;
    const body = {meter_id: f.meter_id.value.trim(), email: f.email.value.trim(), postcode: f.postcode.value.trim(),
      data_from: f.data_from.value, data_until: f.right_end.value, right_end: f.right_end.value,
      scopes: [...form.querySelectorAll("input[name=scopes]:checked")].map((i) => i.value)};
    if (f.holder_name.value.trim()) body.holder_name = f.holder_name.value.trim();
    if (f.holder_company.value.trim()) body.holder_company = f.holder_company.value.trim();
    if (await post("/v1/me/grdf/rights", body)) { say(T.grdf_sent); await rights(); }
  };
  api("/v1/meters").then((page) => gasCard(page.items)).catch((e) => console.error(e));
  rights().catch((e) => console.error(e));
})();
