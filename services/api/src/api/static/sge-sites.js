// SGE sites of a manager or a city (portfolio page): register, list, withdraw.
// Talks to /v1/me/sge-sites with the session cookie; every text comes from the
// page's i18n block, every value is set with textContent (no HTML injection).
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("sen1-i18n").textContent);
  const $ = (id) => document.getElementById(id);
  const form = $("sge-form");
  if (!form) return;

  function say(text, cls) { const m = $("sge-message"); m.textContent = text; m.className = cls || ""; }
  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; }
  async function send(method, path, body) {
    return fetch(path, {method, credentials: "same-origin",
      headers: {"content-type": "application/json", "accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)});
  }
  async function problem(r) {
    try { const p = await r.json(); return typeof p.detail === "string" ? p.detail : `${r.status}`; }
    catch (e) { return `${r.status}`; }
  }

  async function list() {
    const r = await send("GET", "/v1/me/sge-sites");
    const tb = document.querySelector("#sge-sites tbody"); tb.textContent = "";
    if (!r.ok) return;
    const sites = (await r.json()).sites;
    if (!sites.length) { const tr = tb.insertRow(); cell(tr, T.sge_none).colSpan = 6; return; }
    for (const s of sites) {
      const tr = tb.insertRow();
      cell(tr, s.name); cell(tr, s.meter_id);
      cell(tr, T["sge_state_" + s.state] || s.state).dataset.state = s.state;
      cell(tr, s.reason || ""); cell(tr, s.authorised_by);
      const td = cell(tr, "");
      if (["requested", "enrolling", "active", "failed"].includes(s.state)) {
        const b = document.createElement("button"); b.type = "button"; b.textContent = T.sge_withdraw;
        b.className = "danger"; b.setAttribute("aria-label", `${T.sge_withdraw} ${s.meter_id}`);
        b.onclick = async () => {
          if (!confirm(T.sge_confirm_withdraw)) return;
          const w = await send("DELETE", `/v1/me/sge-sites/${encodeURIComponent(s.meter_id)}`);
          say(w.ok ? T.sge_state_withdrawing : await problem(w), w.ok ? "" : "error");
          await list();
        };
        td.appendChild(b);
      }
    }
  }

  const today = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  function defaults() {
    $("sge-valid-from").value = $("sge-valid-from").value || iso(today);
    $("sge-valid-until").value = $("sge-valid-until").value || iso(new Date(today.getTime() + 365 * 864e5));
  }
  defaults();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const prms = String(data.get("prms")).split(/[\s,;]+/).filter(Boolean);
    const authorisation = {
      authorised_by: data.get("authorised_by"), authoriser_kind: data.get("authoriser_kind"),
      valid_from: data.get("valid_from"), valid_until: data.get("valid_until"),
      proof_reference: data.get("proof_reference"),
    };
    if (data.get("history_from")) authorisation.history_from = data.get("history_from");
    const r = await send("POST", "/v1/me/sge-sites",
      {sites: [{name: data.get("name"), prms}], authorisation});
    if (r.ok) { const done = await r.json(); say(`${done.accepted} ${T.sge_registered}`); form.reset(); }
    else say(await problem(r), "error");
    defaults();
    await list();
  });
  list();
  setInterval(list, 15000);  // enrolment runs in the background: follow it
})();
