// One control per camera property (from `info`): an enum is a select of the camera's labels, a range a
// slider with a stepper honouring min/max/step, a writable text property a text field, a read-only one
// plain text. A change goes through `set`; the control then shows the value the camera read back, and a
// refusal is written next to the control. `notify.property` updates a control live.

import { describeError } from "./rpc.js";

const SLIDER_MAX_STEPS = 100000; // beyond this a slider cannot be aimed: the stepper alone

/** A new element: ``attrs`` as attributes (``text``: its text), then its children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

function slug(name) {
  return String(name)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-");
}

/** One property's row: label, control(s), its error. */
class PropControl {
  constructor(desc, set) {
    this.desc = desc;
    this.set = set;
    this.name = desc.property;
    this.id = `prop-${slug(this.name)}`;
    this.busy = false;
    this.queued = null;
    this.row = el("div", { class: "prop", "data-property": this.name, "data-code": desc.code });
    const label = el("label", { for: this.id }, this.name);
    if (desc.name && desc.name !== this.name)
      label.append(" ", el("small", { text: desc.name, title: desc.name }));
    this.error = el("p", { class: "err", id: `${this.id}-error`, role: "alert" });
    this.field = el("div", { class: "field" });
    this.row.append(label, this.field, this.error);
    this.build();
    this.show(desc);
  }

  build() {
    const { desc, id } = this;
    const form = desc.form || { kind: "none" };
    const described = `${id}-error`;
    if (!desc.writable) {
      this.kind = "text";
      this.output = el("output", { id, class: "readonly", "aria-describedby": described });
      this.field.append(this.output);
      return;
    }
    if (form.kind === "enum") {
      this.kind = "enum";
      this.select = el("select", { id, "aria-describedby": described });
      for (const v of form.values) this.select.append(el("option", { value: v.label, text: v.label }));
      this.select.addEventListener("change", () => this.change(this.select.value));
      this.field.append(this.select);
    } else if (form.kind === "range") {
      this.kind = "range";
      const limits = { min: form.min, max: form.max, step: form.step };
      const steps = (form.max - form.min) / (form.step || 1);
      this.number = el("input", {
        type: "number",
        inputmode: "numeric",
        ...limits,
        "aria-describedby": described,
      });
      if (steps <= SLIDER_MAX_STEPS) {
        this.slider = el("input", { type: "range", id, ...limits, "aria-describedby": described });
        this.number.setAttribute("aria-label", `${this.name}, exact value`);
        this.slider.addEventListener("input", () => {
          this.number.value = this.slider.value;
        });
        this.slider.addEventListener("change", () => this.change(Number(this.slider.value)));
        this.field.append(this.slider);
      } else {
        this.number.id = id;
        this.number.classList.add("wide");
      }
      this.number.addEventListener("change", () => {
        if (this.number.value === "")
          this.show(this.value); // emptied: nothing to send
        else this.change(Number(this.number.value));
      });
      this.readback = el("output", {
        class: "label",
        for: id,
        "aria-label": `${this.name} as the camera shows it`,
      });
      this.field.append(this.number, this.readback);
    } else {
      this.kind = "string";
      this.input = el("input", {
        type: "text",
        id,
        maxlength: 255,
        spellcheck: "false",
        "aria-describedby": described,
      });
      this.input.addEventListener("change", () => this.change(this.input.value));
      this.field.append(this.input);
    }
  }

  /** Shows a value (a set's read-back, a describe, or a notification: {value, label}). */
  show(v) {
    this.value = v;
    const label = v.label ?? String(v.value);
    this.row.dataset.value = String(v.value);
    this.row.dataset.label = label;
    if (this.kind === "text") {
      this.output.textContent = label;
    } else if (this.kind === "enum") {
      if (![...this.select.options].some((o) => o.value === label)) {
        this.select.append(el("option", { value: label, text: label }));
      }
      this.select.value = label;
    } else if (this.kind === "range") {
      if (this.slider) this.slider.value = String(v.value);
      this.number.value = String(v.value);
      this.readback.textContent = label === String(v.value) ? "" : label;
    } else {
      this.input.value = label;
    }
  }

  controls() {
    return [this.select, this.slider, this.number, this.input].filter(Boolean);
  }

  /** The user chose ``value``: one `set` at a time, the latest choice wins. */
  async change(value) {
    if (this.busy) {
      this.queued = { value };
      return;
    }
    this.busy = true;
    this.row.classList.add("busy");
    this.row.setAttribute("aria-busy", "true");
    this.error.textContent = "";
    try {
      for (let next = { value }; next; next = this.queued, this.queued = null) {
        try {
          this.show(await this.set(this.name, next.value));
          this.error.textContent = "";
        } catch (err) {
          this.error.textContent = describeError(err);
          this.show(this.value); // back to what the camera has
        }
      }
    } finally {
      this.busy = false;
      this.row.classList.remove("busy");
      this.row.removeAttribute("aria-busy");
    }
  }
}

/** The settings form: built from `info`, updated from notifications. */
export class Properties {
  constructor(form, set) {
    this.form = form;
    this.set = set;
    this.byName = new Map();
    this.byCode = new Map();
    form.addEventListener("submit", (e) => e.preventDefault());
  }

  /** Rebuilds every control from `info`'s property descriptions (writable ones first). */
  load(descriptions) {
    this.byName.clear();
    this.byCode.clear();
    const rows = [];
    const ordered = [...descriptions].sort((a, b) => Number(b.writable) - Number(a.writable));
    for (const desc of ordered) {
      const control = new PropControl(desc, this.set);
      this.byName.set(desc.property, control);
      this.byCode.set(String(desc.code).toLowerCase(), control);
      rows.push(control.row);
    }
    this.form.replaceChildren(...rows);
  }

  /** A `notify.property` {property, code, value, label}: the control follows unless a set is under way. */
  update(note) {
    const control = this.byName.get(note.property) || this.byCode.get(String(note.code).toLowerCase());
    if (control && !control.busy) control.show({ ...control.value, value: note.value, label: note.label });
  }

  /** The camera went away: every control waits; it came back: they work again. */
  enable(on) {
    for (const control of this.byName.values()) for (const c of control.controls()) c.disabled = !on;
  }
}
