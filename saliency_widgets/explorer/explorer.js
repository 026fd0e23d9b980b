// The saliency explorer's view: one ES module, no dependencies, no requests.
//
// `new ExplorerView(root, data, {onSelect})` draws an explorer into `root` from a plain object
// (the payload written by saliency_widgets.explorer._encode.payload: images and map strips as PNG
// data URLs, top-K classes and probabilities, colour tables) and reports every selection through
// `onSelect`. `mountAll()` mounts every `[data-saliency-explorer]` element of the page that holds
// its data in a JSON script element (type application/json) among its children.
//
// The display arithmetic is saliency_widgets.display's, step for step in float64, so a canvas
// equals display.overlay() of the same map pixel for pixel: sign, percentile clip (numpy's
// linear interpolation), level = floor(255 * min(v / p, 1) + 0.5), 256-entry colour table,
// pixel = floor(image * (1 - w) + target * w + 0.5).

export const SIGNS = ["absolute", "positive", "negative"];
export const BLENDS = ["heat", "mask", "mask-image"];
const COMPARE = [
  ["single", "single map"],
  ["classes", "top classes"],
  ["methods", "all methods"],
];
let explorers = 0;

/** numpy.percentile(values, clip) (method "linear") of an ascending Float64Array. */
export function percentile(sorted, clip) {
  const n = sorted.length;
  if (n === 0) return 0;
  const index = (n - 1) * (clip / 100);
  if (index >= n - 1) return sorted[n - 1];
  if (index < 0) return sorted[0];
  const below = Math.floor(index);
  const gamma = index - below;
  const a = sorted[below];
  const b = sorted[below + 1];
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** display.levels: the shown part of a map, scaled by its clip-th percentile, as 0..255. */
export function levels(values, sign, clip) {
  const shown = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    shown[i] = sign === "absolute" ? Math.abs(v) : Math.max(sign === "positive" ? v : -v, 0);
  }
  const top = percentile(Float64Array.from(shown).sort(), clip);
  const out = new Uint8Array(values.length);
  if (!(top > 0)) return out;
  for (let i = 0; i < shown.length; i++) {
    out[i] = Math.floor(Math.min(shown[i] / top, 1) * 255 + 0.5);
  }
  return out;
}

/** display.blend_levels: RGBA pixels of the map's levels over an RGBA image. */
export function blend(image, width, height, level, mapWidth, mapHeight, mode, alpha, table) {
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * mapHeight) / height);
    for (let x = 0; x < width; x++) {
      const l = level[row * mapWidth + Math.floor((x * mapWidth) / width)];
      const w = mode === "heat" ? alpha : mode === "mask" ? (alpha * l) / 255 : (alpha * (255 - l)) / 255;
      const p = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) {
        const target = mode === "mask-image" ? 0 : table[l * 3 + c];
        out[p + c] = Math.floor(image[p + c] * (1 - w) + target * w + 0.5);
      }
      out[p + 3] = 255;
    }
  }
  return out;
}

function bytesOf(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Decoded RGBA pixels of a PNG data URL (no colour-space conversion, no request). */
async function pixelsOf(url) {
  const blob = new Blob([bytesOf(url.slice(url.indexOf(",") + 1))], { type: "image/png" });
  const bitmap = await createImageBitmap(blob, {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  return { data, width: canvas.width, height: canvas.height };
}

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}

/** A class's probability as a percentage, or its raw score when the model has no head. */
function score(p, activation) {
  return activation === "none" ? p.toFixed(2) : percent(p);
}

/** An explorer drawn into `root` from `data`; selections go to `onSelect(state)`. */
export class ExplorerView {
  constructor(root, data, { onSelect = null } = {}) {
    this.root = root;
    this.data = data;
    this.onSelect = onSelect;
    this.id = `sw-explorer-${++explorers}`;
    const view = data.view || {};
    this.state = {
      image: 0,
      rank: 0,
      method: data.methods[0].name,
      sign: view.sign || "absolute",
      cmap: view.cmap in data.cmaps ? view.cmap : Object.keys(data.cmaps)[0],
      alpha: view.alpha ?? 0.6,
      blend: view.blend || "heat",
      clip: view.clip ?? 99,
      compare: view.compare || "single",
    };
    this.tables = Object.fromEntries(Object.entries(data.cmaps).map(([k, v]) => [k, bytesOf(v)]));
    this.images = new Map(); // image index -> Promise of pixels
    this.maps = new Map(); // "method/image" -> Promise of Float64Array per class
    this.drawn = 0;
    this.build();
    this.update();
  }

  // Data ------------------------------------------------------------------------------------

  method(name) {
    return this.data.methods.find((m) => m.name === name);
  }

  className(index) {
    return this.data.classNames[index] ?? `class ${index}`;
  }

  imagePixels(i) {
    if (!this.images.has(i)) this.images.set(i, pixelsOf(this.data.images[i].src));
    return this.images.get(i);
  }

  /** The K maps of one (method, image) as the values `b - offset` the display step takes. */
  mapValues(name, i) {
    const key = `${name}/${i}`;
    if (!this.maps.has(key)) {
      const method = this.method(name);
      const [h, w] = this.data.mapSize;
      const found = pixelsOf(method.strips[i]).then(({ data }) => {
        const maps = [];
        for (let k = 0; k * h * w * 4 < data.length; k++) {
          const values = new Float64Array(h * w);
          for (let j = 0; j < h * w; j++) values[j] = data[(k * h * w + j) * 4] - method.offset;
          maps.push(values);
        }
        return maps;
      });
      this.maps.set(key, found);
    }
    return this.maps.get(key);
  }

  // Layout ----------------------------------------------------------------------------------

  build() {
    const { data, id } = this;
    this.root.classList.add("sw-explorer");
    this.root.setAttribute("role", "group");
    this.root.setAttribute("aria-label", "Saliency explorer");
    this.thumbs = element("div", { class: "sw-thumbs", role: "radiogroup", "aria-label": "Images" });
    data.images.forEach((image, i) => {
      const top = data.top[i][0];
      const truth = image.label === null ? "" : `, true class ${this.className(image.label)}`;
      const alt = `${image.name}: predicted ${this.className(top)} ${score(data.probabilities[i][0], data.activation)}${truth}`;
      const input = element("input", { type: "radio", name: `${id}-image`, value: i, "aria-label": alt });
      input.addEventListener("change", () => this.select({ image: i, rank: 0 }));
      const mark = image.label !== null && image.label !== top ? "sw-wrong" : "";
      this.thumbs.append(
        element("label", { class: `sw-thumb ${mark}`, title: alt }, [
          input,
          element("img", { src: image.src, alt: "", width: 48, height: 48, draggable: "false" }),
        ]),
      );
    });
    this.views = element("div", { class: "sw-views" });
    this.classes = element("fieldset", { class: "sw-classes" }, [element("legend", { text: "Class" })]);
    this.methodPicker = this.picker("Method", data.methods.map((m) => [m.name, m.label]), "method");
    const signed = data.methods.every((m) => m.signed);
    this.signs = element("fieldset", { class: "sw-signs" }, [element("legend", { text: "Sign" })]);
    for (const sign of signed ? SIGNS : ["absolute"]) {
      const input = element("input", { type: "radio", name: `${id}-sign`, value: sign });
      input.addEventListener("change", () => this.select({ sign }));
      this.signs.append(element("label", {}, [input, ` ${sign}`]));
    }
    const cmaps = Object.keys(data.cmaps).map((name) => [name, name]);
    this.cmapPicker = this.picker("Colour map", cmaps, "cmap");
    this.blendPicker = this.picker("Blend", BLENDS.map((b) => [b, b]), "blend");
    this.opacity = element("input", {
      type: "range", min: 0, max: 1, step: 0.05, value: this.state.alpha, id: `${id}-alpha`,
    });
    this.opacityText = element("output", { for: `${id}-alpha` });
    this.opacity.addEventListener("input", () => this.select({ alpha: Number(this.opacity.value) }));
    this.comparePicker = this.picker("Compare", COMPARE, "compare");
    const controls = element("div", { class: "sw-controls" }, [
      this.classes,
      this.methodPicker.parentNode,
      this.signs,
      this.cmapPicker.parentNode,
      this.blendPicker.parentNode,
      element("label", { class: "sw-field" }, [
        element("span", { text: "Opacity" }),
        this.opacity,
        this.opacityText,
      ]),
      this.comparePicker.parentNode,
    ]);
    this.status = element("p", { class: "sw-status", "aria-live": "polite" });
    this.root.replaceChildren(
      this.thumbs,
      element("div", { class: "sw-body" }, [this.views, controls]),
      this.status,
    );
  }

  picker(text, options, key) {
    const select = element("select", { "data-control": key });
    for (const [value, label] of options) select.append(element("option", { value, text: label }));
    select.addEventListener("change", () => this.select({ [key]: select.value }));
    element("label", { class: "sw-field" }, [element("span", { text }), select]);
    return select;
  }

  // Selection -------------------------------------------------------------------------------

  /** Changes the selection (any of the state's keys), redraws and reports it. */
  select(changes) {
    Object.assign(this.state, changes);
    this.update();
    if (this.onSelect) this.onSelect({ ...this.selection() });
  }

  /** The selection in the data's terms: image, class index, method, display options. */
  selection() {
    const { image, rank } = this.state;
    return { ...this.state, classIndex: this.data.top[image][rank] };
  }

  update() {
    const { state, data, id } = this;
    this.thumbs.querySelectorAll("input").forEach((input, i) => {
      input.checked = i === state.image;
    });
    const label = data.images[state.image].label;
    const classInputs = data.top[state.image].map((index, rank) => {
      const input = element("input", { type: "radio", name: `${id}-class`, value: rank });
      input.checked = rank === state.rank;
      input.addEventListener("change", () => this.select({ rank }));
      const p = data.probabilities[state.image][rank];
      const bar = element("span", { class: "sw-bar", "aria-hidden": "true" });
      bar.style.setProperty("--p", `${Math.max(0, Math.min(1, p)) * 100}%`);
      const truth = index === label ? element("span", { class: "sw-true", text: "true" }) : "";
      return element("label", { class: "sw-class" }, [
        input,
        element("span", { class: "sw-name", text: this.className(index) }),
        element("span", { class: "sw-p", text: score(p, data.activation) }),
        truth,
        bar,
      ]);
    });
    const focused = this.classes.contains(document.activeElement);
    this.classes.replaceChildren(element("legend", { text: "Class" }), ...classInputs);
    if (focused) this.classes.querySelector("input:checked")?.focus();
    this.methodPicker.value = state.method;
    this.cmapPicker.value = state.cmap;
    this.blendPicker.value = state.blend;
    this.comparePicker.value = state.compare;
    this.opacity.value = state.alpha;
    this.opacityText.textContent = Number(state.alpha).toFixed(2);
    this.signs.querySelectorAll("input").forEach((input) => {
      input.checked = input.value === state.sign;
    });
    this.ready = this.draw(); // tests and hosts can await the drawn canvas
  }

  panels() {
    const { state, data } = this;
    if (state.compare === "classes") {
      return data.top[state.image].map((_, rank) => ({ rank, method: state.method }));
    }
    if (state.compare === "methods") {
      return data.methods.map((m) => ({ rank: state.rank, method: m.name }));
    }
    return [{ rank: state.rank, method: state.method }];
  }

  async draw() {
    const ticket = ++this.drawn;
    const { state, data } = this;
    const panels = this.panels();
    const image = await this.imagePixels(state.image);
    const maps = await Promise.all(panels.map((p) => this.mapValues(p.method, state.image)));
    if (ticket !== this.drawn) return; // a newer selection is being drawn
    const [h, w] = data.mapSize;
    const table = this.tables[state.cmap];
    const figures = panels.map((panel, j) => {
      const level = levels(maps[j][panel.rank], state.sign, state.clip);
      const pixels = blend(image.data, image.width, image.height, level, w, h, state.blend, state.alpha, table);
      const index = data.top[state.image][panel.rank];
      const method = this.method(panel.method);
      const name = `${this.className(index)} ${score(data.probabilities[state.image][panel.rank], data.activation)}`;
      const text = `${method.label} saliency of ${data.images[state.image].name} for class ${name}, ${state.sign} values`;
      const canvas = element("canvas", {
        class: "sw-overlay", width: image.width, height: image.height, role: "img", "aria-label": text,
        "data-method": panel.method, "data-class": index,
      });
      canvas.getContext("2d").putImageData(new ImageData(pixels, image.width, image.height), 0, 0);
      const caption = state.compare === "methods" ? method.label : name;
      return element("figure", { class: "sw-figure" }, [canvas, element("figcaption", { text: caption })]);
    });
    if (state.compare === "single") {
      const original = element("canvas", {
        class: "sw-image", width: image.width, height: image.height, role: "img",
        "aria-label": `image ${data.images[state.image].name}`,
      });
      original.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
      figures.unshift(element("figure", { class: "sw-figure" }, [original, element("figcaption", { text: data.images[state.image].name })]));
    }
    this.views.replaceChildren(...figures);
    this.views.dataset.compare = state.compare;
    const selected = this.selection();
    this.status.textContent = `${data.images[state.image].name}: ${this.method(state.method).label}, class ${this.className(selected.classIndex)}, ${state.sign}, ${state.cmap}, ${state.blend} ${Number(state.alpha).toFixed(2)}`;
    this.root.dataset.drawn = String(ticket);
  }
}

/** Mounts every explorer of `root` that is not mounted yet (safe to call again). */
export function mountAll(root = document) {
  const mounted = [];
  for (const node of root.querySelectorAll("[data-saliency-explorer]:not([data-mounted])")) {
    node.setAttribute("data-mounted", "");
    const source = node.querySelector('script[type="application/json"]');
    if (!source) continue;
    node.explorer = new ExplorerView(node, JSON.parse(source.textContent));
    mounted.push(node.explorer);
  }
  return mounted;
}
