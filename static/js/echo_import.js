// "Import echo report": upload the SR, pre-fill the assessment form by field name,
// mark each imported field with its source, offer conflicts as a choice.
// Nothing is saved here: the clinician reviews and saves the form.
(function () {
  "use strict";
  const upload = document.getElementById("echo-import-form");
  if (!upload) return;
  const out = document.getElementById("echo-import-result");
  const confirmRow = document.getElementById("echo-import-confirm");
  const target = document.getElementById(upload.dataset.targetForm);

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function describe(source) {
    const code = source.code || {};
    const parts = [code.meaning + " (" + code.scheme + " " + code.code + ")"];
    if (source.method) parts.push("method: " + source.method);
    if (source.finding_site) parts.push("site: " + source.finding_site);
    if (source.flow_direction) parts.push("flow: " + source.flow_direction);
    parts.push("reported " + source.value + " " + source.unit);
    return parts.join(", ");
  }

  function setField(name, value, note) {
    const input = target && target.elements[name];
    if (!input) return false;
    const box = input.closest(".field");
    if (input.readOnly) {
      if (box) box.appendChild(el("p", "Echo report: " + note + " (record value kept).", "hint imported-source"));
      return false;
    }
    input.value = value;
    input.classList.add("imported");
    input.dispatchEvent(new Event("input", { bubbles: true }));
    if (box) {
      box.querySelectorAll(".imported-source").forEach((n) => n.remove());
      box.appendChild(el("p", "Imported from the echo report: " + note + ".", "hint imported-source"));
    }
    return true;
  }

  function showList(title, items) {
    if (!items.length) return;
    out.appendChild(el("h3", title));
    const list = el("ul");
    items.forEach((text) => list.appendChild(el("li", text)));
    out.appendChild(list);
  }

  function showConflicts(conflicts) {
    conflicts.forEach((conflict) => {
      const set = el("fieldset", "", "echo-conflict");
      set.appendChild(el("legend", "Choose " + conflict.field + " (" + conflict.unit + ")"));
      conflict.values.forEach((option, index) => {
        const id = "echo-conflict-" + conflict.column + "-" + index;
        const radio = el("input");
        radio.type = "radio";
        radio.name = "echo-conflict-" + conflict.column;
        radio.id = id;
        radio.value = option.value;
        radio.addEventListener("change", () =>
          setField(conflict.column, option.value, "chosen from conflicting values; " + describe(option.source)));
        const label = el("label", option.value + " " + conflict.unit + ": " + describe(option.source));
        label.htmlFor = id;
        const row = el("p");
        row.append(radio, label);
        set.appendChild(row);
      });
      out.appendChild(set);
    });
  }

  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.replaceChildren(el("p", "Reading the report…", "muted"));
    let response, body;
    try {
      response = await fetch(upload.action, {
        method: "POST", body: new FormData(upload), credentials: "same-origin",
        headers: { "Accept": "application/json" },
      });
      body = await response.json();
    } catch (error) {
      out.replaceChildren(el("p", "The report could not be sent: " + error, "error"));
      return;
    }
    out.replaceChildren();
    if (!response.ok) {
      const messages = (body.errors || []).map((e) => e.message).join(" ");
      out.appendChild(el("p", messages || "The report was refused.", "card error"));
      if (body.patient_mismatch) confirmRow.hidden = false;
      return;
    }
    let filled = 0;
    Object.entries(body.fields).forEach(([name, field]) => {
      const note = field.sources.map(describe).join("; ");
      if (setField(name, String(field.value), note)) filled += 1;
    });
    out.appendChild(el("p", filled + " fields pre-filled from the report (marked). Review them, then save.", "card"));
    if (body.conflicts.length) {
      out.appendChild(el("h3", "Conflicting values: choose one"));
      showConflicts(body.conflicts);
    }
    showList("Warnings", body.warnings);
    showList("Not imported (no mapping)", body.unmapped.map((u) =>
      u.code.meaning + " (" + u.code.scheme + " " + u.code.code + ") = " + u.value + " " + u.unit + ": " + u.reason));
  });
})();
