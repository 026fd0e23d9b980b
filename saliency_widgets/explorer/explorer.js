// The saliency explorer's view: one ES module, no dependencies, no requests.
//
// One view, `ExplorerView`, two data sources:
// - `InlineSource`: a static page's payload (saliency_widgets.explorer._encode.payload: images,
//   masks and map strips as PNG data URLs, top-K classes and probabilities). `mountAll()` mounts
//   every `[data-saliency-explorer]` element of a page that holds its payload in a JSON script
//   element among its children.
// - `KernelSource`: a live SaliencyWidget (anywidget: `export default {render}`).
//   Predictions, status and the selection are synced traits; images and signed maps arrive as binary buffers
//   in custom messages, asked for by the view when it lacks them.
// Every list the view offers (methods, signs, blends, colour maps, compare modes) comes from the
// source's `meta` object, written by saliency_widgets.explorer._meta.view_meta.
// Beside the maps, a `TrustPanel` draws each map's figures (saliency_widgets.metrics.Scorecard:
// deletion and insertion against a random order with their curves, Gini, localisation,
// completeness) and its sanity check: precomputed in a page (`scores` of the payload, packed by
// saliency_widgets.explorer._figures), sent by the kernel after the map in a live widget.
//
// All display work happens here, with saliency_widgets.display's arithmetic step for step in
// float64, so a canvas equals display.overlay() of the same map pixel for pixel: sign, percentile
// clip (numpy's linear interpolation), level = floor(255 * min(v / p, 1) + 0.5), 256-entry
// colour table, pixel = floor(image * (1 - w) + target * w + 0.5). A cosmetic change (sign,
// colour map, blend, opacity, clip, compare layout, outline) redraws from maps the view holds
// and sends nothing to the kernel.

let explorers = 0;

// Display arithmetic --------------------------------------------------------------------------

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

/** display.signed: the shown part of a map, non-negative. */
export function shownValues(values, sign) {
  const shown = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    shown[i] = sign === "absolute" ? Math.abs(v) : Math.max(sign === "positive" ? v : -v, 0);
  }
  return shown;
}

/** display.levels of shown values whose clip value is `top`: 0..255. */
export function levelsOf(shown, top) {
  const out = new Uint8Array(shown.length);
  if (!(top > 0)) return out;
  for (let i = 0; i < shown.length; i++) {
    out[i] = Math.floor(Math.min(shown[i] / top, 1) * 255 + 0.5);
  }
  return out;
}

/** display.levels: the shown part of a map, scaled by its clip-th percentile, as 0..255. */
export function levels(values, sign, clip) {
  const shown = shownValues(values, sign);
  return levelsOf(shown, percentile(Float64Array.from(shown).sort(), clip));
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

/** display.outline: paints a mask's boundary (pixels inside with a 4-neighbour outside). */
export function outline(pixels, width, height, mask, colour) {
  const inside = (x, y) => x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] > 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside(x, y)) continue;
      if (inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1)) continue;
      const p = (y * width + x) * 4;
      pixels[p] = colour[0];
      pixels[p + 1] = colour[1];
      pixels[p + 2] = colour[2];
    }
  }
  return pixels;
}

/** A number as the colour bar states it: three significant digits. */
export function formatValue(value) {
  if (value === 0) return "0";
  const size = Math.abs(value);
  return size >= 1e4 || size < 1e-2 ? value.toExponential(2) : value.toPrecision(3);
}

// Bytes and pixels ----------------------------------------------------------------------------

function bytesOf(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function bytesOfUrl(url) {
  return bytesOf(url.slice(url.indexOf(",") + 1));
}

function view8(buffer, Type = Uint8Array) {
  if (buffer instanceof ArrayBuffer) return new Type(buffer);
  return new Type(buffer.buffer, buffer.byteOffset, buffer.byteLength / Type.BYTES_PER_ELEMENT);
}

/** Decoded RGBA pixels of PNG bytes (no colour-space conversion, no request). */
export async function decodePng(bytes) {
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }), {
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

function maskOf(pixels) {
  const mask = new Uint8Array(pixels.width * pixels.height);
  for (let i = 0; i < mask.length; i++) mask[i] = pixels.data[i * 4] > 127 ? 1 : 0;
  return mask;
}

/** A small event hub: `on(listener)` returns its own removal. */
class Listeners {
  constructor() {
    this.all = new Set();
  }
  on(listener) {
    this.all.add(listener);
    return () => this.all.delete(listener);
  }
  emit(kind, detail = {}) {
    for (const listener of this.all) listener(kind, detail);
  }
}

// Sources -------------------------------------------------------------------------------------

/** A static page's payload: everything is held; nothing can be computed. */
export class InlineSource {
  constructor(data) {
    this.data = data;
    this.meta = data.meta;
    this.events = new Listeners();
    this.pixels = new Map();
    this.strips = new Map();
    this.maskCache = new Map();
  }

  predictions() {
    return this.data.predictions;
  }

  status() {
    return null;
  }

  thumbnail(i) {
    return Promise.resolve((this.data.thumbs && this.data.thumbs[i]) || this.data.images[i]);
  }

  image(i) {
    if (!this.pixels.has(i)) this.pixels.set(i, decodePng(bytesOfUrl(this.data.images[i])));
    return this.pixels.get(i);
  }

  mask(i) {
    if (!this.data.masks || !this.data.masks[i]) return Promise.resolve(null);
    if (!this.maskCache.has(i)) {
      this.maskCache.set(i, decodePng(bytesOfUrl(this.data.masks[i])).then(maskOf));
    }
    return this.maskCache.get(i);
  }

  /** The maps of (image, method) the page holds: class index -> {values, scale, width, height}. */
  maps(image, method) {
    const key = `${method}/${image}`;
    if (!this.strips.has(key)) {
      const entry = this.data.maps[method];
      const found = entry && entry.strips[image]
        ? decodePng(bytesOfUrl(entry.strips[image])).then(({ data, width }) => {
            const classes = this.data.predictions.top[image];
            const height = data.length / 4 / width / classes.length;
            const held = new Map();
            classes.forEach((index, k) => {
              const values = new Float64Array(width * height);
              const first = k * width * height;
              for (let j = 0; j < values.length; j++) {
                const z = data[(first + j) * 4]; // zigzag: 2l for l >= 0, -2l - 1 below
                values[j] = z & 1 ? -(z + 1) / 2 : z / 2;
              }
              held.set(index, { values, scale: entry.scales[image][k], width, height });
            });
            return held;
          })
        : Promise.resolve(new Map());
      this.strips.set(key, found);
    }
    return this.strips.get(key);
  }

  probability() {
    return null;
  }

  failure() {
    return null;
  }

  /** The figures of a map the page holds (the shape of Scorecard.to_dict), or null. */
  figures(image, method, classIndex) {
    const packed = this.data.scores;
    const rows = packed && packed.methods[method];
    const k = this.data.predictions.top[image].indexOf(classIndex);
    if (!rows || !rows[image] || k < 0) return null;
    return unpackCard(packed, image, k, rows[image][k], classIndex);
  }

  /** The sanity check of a map the page holds (the shape of SanityCheck.to_dict), or null. */
  sanity(image, method, classIndex) {
    const packed = this.data.scores && this.data.scores.sanity;
    const rows = packed && packed.methods[method];
    const k = this.data.predictions.top[image].indexOf(classIndex);
    if (!rows || !rows[image] || k < 0) return null;
    const [correlation, constant] = rows[image][k];
    const threshold = packed.threshold;
    return { correlation, threshold, constant: Boolean(constant), depends_on_model: Math.abs(correlation) < threshold };
  }

  needScores() {}

  /** A page cannot run a check: says so (false). */
  askSanity() {
    return false;
  }

  need() {}

  select() {}

  close() {}
}

/** A live SaliencyWidget's model: traits for state, custom messages for images and maps. */
export class KernelSource {
  constructor(model) {
    this.model = model;
    this.meta = model.get("meta");
    this.events = new Listeners();
    this.held = new Map(); // "method/image" -> Map(class -> map)
    this.pixels = new Map(); // image -> {promise, resolve}
    this.thumbs = new Map(); // image -> {promise, resolve}
    this.masks = new Map();
    this.asked = new Set(); // "method/image/class" asked and not answered yet
    this.scores = new Map(); // image -> Map(class -> probability), beyond the top-K
    this.cards = new Map(); // "method/image/class" -> Scorecard.to_dict() or {error}
    this.checks = new Map(); // "method/image/class" -> SanityCheck.to_dict(), {error} or {pending}
    this.lastScores = ""; // the last figures request sent (the kernel keeps only the latest)
    this.queued = { thumb: [], image: [] };
    this.urls = [];
    this.handlers = [
      ["change:predictions", () => this.events.emit("predictions")],
      ["change:status", () => this.events.emit("status")],
      ["change:selection", () => this.events.emit("selection", this.model.get("selection"))],
      ["change:view", () => this.events.emit("view", this.model.get("view"))],
      ["msg:custom", (content, buffers) => this.receive(content, buffers || [])],
    ];
    for (const [name, handler] of this.handlers) model.on(name, handler);
    // the first maps, picture and thumbnails, kept by the kernel in a trait (SaliencyWidget.first)
    for (const { content, buffers } of model.get("first") || []) this.receive(content, buffers);
  }

  predictions() {
    const found = this.model.get("predictions");
    return found && found.top ? found : null;
  }

  status() {
    return this.model.get("status") || null;
  }

  /** A picture's promise; the pictures asked for in one turn go in one message. */
  pending(table, i, kind) {
    if (!table.has(i)) {
      this.placeholder(table, i);
      const queue = this.queued[kind];
      if (queue.length === 0) {
        queueMicrotask(() => {
          this.model.send({ kind: "images", indices: queue.splice(0), thumbs: kind === "thumb" });
        });
      }
      queue.push(i);
    }
    return table.get(i).promise;
  }

  thumbnail(i) {
    return this.pending(this.thumbs, i, "thumb");
  }

  image(i) {
    return this.pending(this.pixels, i, "image");
  }

  mask(i) {
    if (!this.meta.masks) return Promise.resolve(null);
    return this.image(i).then(() => this.masks.get(i) || null);
  }

  maps(image, method) {
    return Promise.resolve(this.held.get(`${method}/${image}`) || new Map());
  }

  probability(image, index) {
    const found = this.scores.get(image);
    return found && found.has(index) ? found.get(index) : null;
  }

  /** The figures the kernel sent for a map (`scores` holds probabilities), or null till then. */
  figures(image, method, classIndex) {
    return this.cards.get(`${method}/${image}/${classIndex}`) || null;
  }

  sanity(image, method, classIndex) {
    return this.checks.get(`${method}/${image}/${classIndex}`) || null;
  }

  /** Asks the kernel for the figures of `image`'s maps by `methods` that the view lacks. */
  needScores(image, methods, classIndex) {
    const missing = methods.filter((method) => !this.cards.has(`${method}/${image}/${classIndex}`));
    const request = JSON.stringify([image, missing, classIndex]);
    if (missing.length === 0 || request === this.lastScores) return;
    this.lastScores = request;
    this.model.send({ kind: "scores", image, methods: missing, class_index: classIndex });
  }

  /** The panel's sanity button: the kernel runs the check on its worker (true: asked). */
  askSanity(image, method, classIndex) {
    const key = `${method}/${image}/${classIndex}`;
    if (!this.checks.has(key)) {
      this.checks.set(key, { pending: true });
      this.model.send({ kind: "sanity", image, method, class_index: classIndex });
    }
    return true;
  }

  failure(image, method) {
    const status = this.status() || {};
    const images = status.errors || {};
    const failures = status.failures || {};
    return images[image] || failures[`${image}/${method}`] || null;
  }

  /** Asks the kernel for the maps of `image` by `methods` that the view lacks (for `classIndex`). */
  need(image, methods, classIndex) {
    const missing = methods.filter((method) => {
      const held = this.held.get(`${method}/${image}`);
      return !(held && (classIndex === null || held.has(classIndex)));
    });
    const fresh = missing.filter((m) => !this.asked.has(`${m}/${image}/${classIndex}`));
    if (fresh.length === 0) return;
    for (const method of fresh) this.asked.add(`${method}/${image}/${classIndex}`);
    this.model.send({ kind: "want", image, methods: fresh, class_index: classIndex });
  }

  /** Tells the kernel what the view shows (not cosmetic: the kernel plans its work by it). */
  select({ image, classIndex, method }) {
    const now = this.model.get("selection") || {};
    if (now.image === image && now.class_index === classIndex && now.method === method) return;
    this.model.set("selection", { image, class_index: classIndex, method });
    this.model.save_changes();
  }

  receive(content, buffers) {
    if (content.kind === "maps") {
      const key = `${content.method}/${content.image}`;
      const held = this.held.get(key) || new Map();
      const levels = view8(buffers[0], Int8Array);
      const [height, width] = content.shape;
      const scores = this.scores.get(content.image) || new Map();
      content.classes.forEach((index, k) => scores.set(index, content.probabilities[k]));
      this.scores.set(content.image, scores);
      content.classes.forEach((index, k) => {
        const values = new Float64Array(width * height);
        const first = k * width * height;
        for (let j = 0; j < values.length; j++) values[j] = levels[first + j];
        held.set(index, { values, scale: content.scales[k], width, height });
        this.asked.delete(`${content.method}/${content.image}/${index}`);
        this.asked.delete(`${content.method}/${content.image}/null`);
      });
      this.held.set(key, held);
      this.events.emit("maps", { image: content.image, method: content.method });
    } else if (content.kind === "image") {
      const bytes = view8(buffers[0]);
      if (content.thumb) {
        const url = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
        this.urls.push(url);
        if (!this.thumbs.has(content.index)) this.placeholder(this.thumbs, content.index);
        this.thumbs.get(content.index).resolve(url);
      } else {
        if (buffers.length > 1) {
          this.masks.set(content.index, decodePng(view8(buffers[1])).then(maskOf));
        }
        if (!this.pixels.has(content.index)) this.placeholder(this.pixels, content.index);
        this.pixels.get(content.index).resolve(decodePng(bytes));
      }
    } else if (content.kind === "scores" || content.kind === "sanity") {
      const key = `${content.method}/${content.image}/${content.class_index}`;
      const found = content.card || content.check || { error: content.error };
      (content.kind === "scores" ? this.cards : this.checks).set(key, found);
      this.events.emit(content.kind, { image: content.image, method: content.method });
    } else if (content.kind === "failed") {
      for (const method of content.methods) {
        for (const key of [...this.asked]) {
          if (key.startsWith(`${method}/${content.image}/`)) this.asked.delete(key);
        }
      }
      this.events.emit("status");
    }
  }

  placeholder(table, i) {
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    table.set(i, { promise, resolve });
  }

  close() {
    for (const [name, handler] of this.handlers) this.model.off(name, handler);
    for (const url of this.urls) URL.revokeObjectURL(url);
  }
}

// The view ------------------------------------------------------------------------------------

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

// The trust panel ------------------------------------------------------------------------------

const CURVE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
let svgNamespace = null; // SVG's namespace, as the HTML parser gives it (the page names no URL)

/** A page's packed figures of one map (saliency_widgets.explorer._figures) as Scorecard.to_dict. */
export function unpackCard(packed, image, k, row, classIndex) {
  const [low, high] = packed.range;
  const span = high > low ? high - low : 1;
  const levels = CURVE_ALPHABET.length - 1;
  const values = (text) => [...text].map((c) => low + (CURVE_ALPHABET.indexOf(c) / levels) * span);
  const [deletionRandom, insertionRandom, deletionRandomCurve, insertionRandomCurve] = packed.random[image][k];
  const [deletion, insertion, gini, pointing, energy, completeness, deletionCurve, insertionCurve] = row;
  return {
    index: classIndex,
    score: packed.score,
    fractions: Array.from({ length: packed.steps + 1 }, (_, j) => j / packed.steps),
    deletion: {
      kind: "deletion", auc: deletion, random_auc: deletionRandom, gain: deletionRandom - deletion,
      curve: values(deletionCurve), random_curve: values(deletionRandomCurve),
    },
    insertion: {
      kind: "insertion", auc: insertion, random_auc: insertionRandom, gain: insertion - insertionRandom,
      curve: values(insertionCurve), random_curve: values(insertionRandomCurve),
    },
    gini,
    localisation: pointing === null ? null : { pointing: Boolean(pointing), energy, mask_share: packed.maskShare[image] },
    completeness,
  };
}

/** The figure a ranking orders the methods by (higher is better), or null when unknown. */
export function rankValue(card, key) {
  if (!card || card.error) return null;
  if (key === "deletion") return card.deletion.gain;
  if (key === "insertion") return card.insertion.gain;
  if (key === "energy") return card.localisation ? card.localisation.energy : null;
  if (key === "gini") return card.gini;
  return null;
}

/** `rows` ({card, ...}) ordered by `key`, best first; rows without the figure last. */
export function ranked(rows, key) {
  const known = rows.filter((row) => rankValue(row.card, key) !== null);
  const unknown = rows.filter((row) => rankValue(row.card, key) === null);
  known.sort((a, b) => rankValue(b.card, key) - rankValue(a.card, key));
  return [...known, ...unknown];
}

/** "better than random by 0.27" (or worse, or no better), for a curve's gain. */
export function versusRandom(gain) {
  if (Math.abs(gain) < 0.005) return "no better than random";
  return `${gain >= 0 ? "better" : "worse"} than random by ${Math.abs(gain).toFixed(2)}`;
}

/** Each line of figures a panel shows, as text (its aria-label joins them). */
export function cardLines(card) {
  const lines = [
    `Deletion AUC ${card.deletion.auc.toFixed(2)} (random ${card.deletion.random_auc.toFixed(2)}): ${versusRandom(card.deletion.gain)}`,
    `Insertion AUC ${card.insertion.auc.toFixed(2)} (random ${card.insertion.random_auc.toFixed(2)}): ${versusRandom(card.insertion.gain)}`,
    `Gini ${card.gini.toFixed(2)}`,
  ];
  const place = card.localisation;
  if (place) {
    lines.push(`Pointing ${place.pointing ? "hit ✓" : "miss ✗"} · energy in mask ${percent(place.energy)} (mask ${percent(place.mask_share)})`);
  }
  if (card.completeness !== null && card.completeness !== undefined) {
    lines.push(`Completeness gap ${percent(card.completeness)}`);
  }
  return lines;
}

/** What a sanity check says, in a line. */
export function sanityLine(check) {
  const rho = `rank correlation ${check.correlation.toFixed(2)} with the map of a model whose top layers were re-initialised (threshold ${check.threshold})`;
  return check.depends_on_model
    ? `Sanity ✓ depends on the model: ${rho}`
    : `Sanity ✗ does not depend on the model: ${rho}`;
}

function svgNode(tag, attributes = {}) {
  if (!svgNamespace) {
    const parsed = document.createElement("template");
    parsed.innerHTML = "<svg></svg>";
    svgNamespace = parsed.content.firstChild.namespaceURI;
  }
  const node = document.createElementNS(svgNamespace, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/** The figures beside a map: text, a small deletion / insertion plot with the random order's. */
export class TrustPanel {
  constructor({ live, sanity, onSanity }) {
    this.live = live;
    this.canCheck = sanity;
    this.onSanity = onSanity;
    this.root = element("section", { class: "sw-trust-panel" });
  }

  /** Draws `card` (Scorecard.to_dict, {error}, null: coming, undefined: off) and `check`. */
  render(card, check, title) {
    const heading = element("h4", { class: "sw-trust-title", text: `How far to trust it · ${title}` });
    const body = [];
    if (card === undefined) {
      this.root.dataset.state = "off"; // figures not asked for: the sanity check alone
    } else if (!card) {
      body.push(element("p", { class: "sw-trust-note", text: this.live ? "computing…" : "no figures in this page" }));
      this.root.dataset.state = "pending";
    } else if (card.error) {
      body.push(element("p", { class: "sw-trust-note", text: card.error }));
      this.root.dataset.state = "failed";
    } else {
      const lines = cardLines(card);
      body.push(this.plot(card, lines));
      body.push(element("ul", { class: "sw-trust-figures" }, lines.map((line) => element("li", { text: line }))));
      this.root.dataset.state = "ready";
    }
    body.push(this.sanityPart(check));
    this.root.setAttribute("aria-label", card && !card.error ? `Trust figures of ${title}: ${cardLines(card).join("; ")}` : `Trust figures of ${title}`);
    this.root.replaceChildren(heading, ...body);
    return this.root;
  }

  /** Deletion and insertion curves (solid) over the random order's (dashed), as inline SVG. */
  plot(card, lines) {
    const width = 240;
    const height = 120;
    const pad = { left: 30, right: 6, top: 6, bottom: 18 };
    const curves = [card.deletion.curve, card.deletion.random_curve, card.insertion.curve, card.insertion.random_curve];
    let low = card.score === "probability" ? 0 : Math.min(...curves.flat());
    let high = card.score === "probability" ? 1 : Math.max(...curves.flat());
    if (!(high > low)) high = low + 1;
    const x = (f) => pad.left + f * (width - pad.left - pad.right);
    const y = (v) => pad.top + (1 - (v - low) / (high - low)) * (height - pad.top - pad.bottom);
    const svg = svgNode("svg", {
      class: "sw-trust-plot", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": `Deletion and insertion curves: ${lines.slice(0, 2).join("; ")}`,
    });
    const title = svgNode("title");
    title.textContent = lines.slice(0, 2).join("\n");
    svg.append(title);
    svg.append(svgNode("rect", { x: pad.left, y: pad.top, width: width - pad.left - pad.right, height: height - pad.top - pad.bottom, class: "sw-trust-frame" }));
    for (const [value, anchor] of [[high, pad.top + 8], [low, height - pad.bottom]]) {
      const label = svgNode("text", { x: pad.left - 3, y: anchor, "text-anchor": "end", class: "sw-trust-axis" });
      label.textContent = card.score === "probability" ? String(value) : formatValue(value);
      svg.append(label);
    }
    const axis = svgNode("text", { x: (pad.left + width - pad.right) / 2, y: height - 4, "text-anchor": "middle", class: "sw-trust-axis" });
    axis.textContent = `fraction of pixels changed (${card.score})`;
    svg.append(axis);
    const series = [
      ["deletion", card.deletion.random_curve, true],
      ["insertion", card.insertion.random_curve, true],
      ["deletion", card.deletion.curve, false],
      ["insertion", card.insertion.curve, false],
    ];
    for (const [kind, values, random] of series) {
      const points = values.map((v, j) => `${x(card.fractions[j]).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      svg.append(svgNode("polyline", {
        points, fill: "none", class: `sw-trust-${kind}${random ? " sw-trust-random" : ""}`,
        "data-curve": `${kind}${random ? "-random" : ""}`,
      }));
    }
    const legend = element("p", { class: "sw-trust-legend" }, [
      element("span", { class: "sw-key-deletion", text: "— deletion" }),
      element("span", { class: "sw-key-insertion", text: "— insertion" }),
      element("span", { class: "sw-key-random", text: "- - random order" }),
    ]);
    return element("figure", { class: "sw-trust-curves" }, [svg, legend]);
  }

  sanityPart(check) {
    const part = element("div", { class: "sw-trust-sanity" });
    if (check && check.pending) {
      part.append(element("p", { text: "Sanity check: re-initialising the model's top layers and computing the map again…" }));
    } else if (check && check.error) {
      part.append(element("p", { text: check.error }));
    } else if (check) {
      part.dataset.dependsOnModel = String(check.depends_on_model);
      part.append(element("p", { class: check.depends_on_model ? "sw-sane" : "sw-insane", text: sanityLine(check) }));
    } else {
      const button = element("button", { type: "button", class: "sw-sanity-button", text: "Sanity check" });
      button.addEventListener("click", () => {
        if (!this.onSanity()) {
          part.replaceChildren(element("p", {
            text: "The sanity check runs the method again on a re-initialised copy of the model: it needs a live widget (SaliencyWidget) or a page made with sanity=True (saliency-widgets explore --sanity).",
          }));
        }
      });
      part.append(button);
    }
    return part;
  }
}

/** An explorer drawn into `root` from a source; selections go to `onSelect(state)`. */
export class ExplorerView {
  constructor(root, source, { onSelect = null } = {}) {
    this.root = root;
    this.source = source;
    this.meta = source.meta;
    this.onSelect = onSelect;
    this.id = `sw-explorer-${++explorers}`;
    const view = this.meta.view;
    this.state = {
      image: 0,
      classIndex: null,
      method: this.meta.methods[0].name,
      sign: view.sign,
      cmap: view.cmap in this.meta.cmaps ? view.cmap : Object.keys(this.meta.cmaps)[0],
      alpha: view.alpha,
      blend: view.blend,
      clip: view.clip,
      compare: view.compare,
      outline: view.outline,
    };
    const start = this.meta.start || {};
    if (start.image !== undefined) this.state.image = start.image;
    if (start.classIndex !== undefined) this.state.classIndex = start.classIndex;
    if (start.method && this.method(start.method)) this.state.method = start.method;
    this.page = Math.floor(this.state.image / this.meta.perPage);
    this.notice = "";
    this.tables = Object.fromEntries(Object.entries(this.meta.cmaps).map(([k, v]) => [k, bytesOf(v)]));
    this.shownCache = new WeakMap(); // map entry -> {sign -> {shown, sorted}}
    this.drawn = 0;
    this.unsubscribe = source.events.on((kind, detail) => this.onSource(kind, detail));
    this.build();
    this.pickFirstClass();
    this.update();
  }

  // Data --------------------------------------------------------------------------------------

  method(name) {
    return this.meta.methods.find((m) => m.name === name);
  }

  className(index) {
    return this.meta.classNames[index] ?? `class ${index}`;
  }

  score(p) {
    return this.meta.activation === "none" ? p.toFixed(2) : percent(p);
  }

  top(image) {
    const found = this.source.predictions();
    return found ? found.top[image] : null;
  }

  probability(image, index) {
    const found = this.source.predictions();
    if (!found) return null;
    const rank = found.top[image].indexOf(index);
    return rank >= 0 ? found.probabilities[image][rank] : this.source.probability(image, index);
  }

  pickFirstClass() {
    if (this.state.classIndex === null) {
      const top = this.top(this.state.image);
      if (top) this.state.classIndex = top[0];
    }
  }

  /** The shown values of a map and their ascending copy, cached per sign. */
  shownOf(entry, sign) {
    let bySign = this.shownCache.get(entry);
    if (!bySign) this.shownCache.set(entry, (bySign = {}));
    if (!bySign[sign]) {
      const shown = shownValues(entry.values, sign);
      bySign[sign] = { shown, sorted: Float64Array.from(shown).sort() };
    }
    return bySign[sign];
  }

  // Layout ------------------------------------------------------------------------------------

  build() {
    const { meta, id } = this;
    this.root.classList.add("sw-explorer");
    this.root.setAttribute("role", "group");
    this.root.setAttribute("aria-label", "Saliency explorer");
    this.thumbs = element("div", { class: "sw-thumbs", role: "radiogroup", "aria-label": "Images" });
    this.pager = element("div", { class: "sw-pager" });
    this.previousPage = element("button", { type: "button", class: "sw-previous-page", "aria-label": "previous page of images", text: "‹" });
    this.nextPage = element("button", { type: "button", class: "sw-next-page", "aria-label": "next page of images", text: "›" });
    this.pageText = element("span", { class: "sw-page" });
    this.thumbs.addEventListener("keydown", (event) => this.stepAcrossPages(event));
    this.previousPage.addEventListener("click", () => this.showPage(this.page - 1));
    this.nextPage.addEventListener("click", () => this.showPage(this.page + 1));
    this.pager.append(this.previousPage, this.pageText, this.nextPage);
    this.views = element("div", { class: "sw-views" });
    this.bar = element("div", { class: "sw-colour-bar" });
    this.barCanvas = element("canvas", { width: 256, height: 1, class: "sw-bar-canvas", "aria-hidden": "true" });
    this.barLow = element("span", { class: "sw-bar-low", text: "0" });
    this.barHigh = element("span", { class: "sw-bar-high" });
    this.bar.append(this.barCanvas, element("div", { class: "sw-bar-labels" }, [this.barLow, this.barHigh]));
    this.classes = element("fieldset", { class: "sw-classes" }, [element("legend", { text: "Class" })]);
    this.typed = element("input", {
      type: "text", class: "sw-other-class", list: `${id}-names`, placeholder: "type a class name or index",
      "aria-label": "Explain another class: type its name or index",
    });
    const names = element("datalist", { id: `${id}-names` });
    for (const name of meta.classNames) names.append(element("option", { value: name }));
    this.typed.addEventListener("change", () => this.typeClass(this.typed.value));
    this.methodPicker = this.picker("Method", meta.methods.map((m) => [m.name, m.label]), "method");
    this.signs = element("fieldset", { class: "sw-signs" }, [element("legend", { text: "Sign" })]);
    for (const sign of meta.signs) {
      const input = element("input", { type: "radio", name: `${id}-sign`, value: sign });
      input.addEventListener("change", () => this.select({ sign }));
      this.signs.append(element("label", {}, [input, ` ${sign}`]));
    }
    this.cmapPicker = this.picker("Colour map", Object.keys(meta.cmaps).map((n) => [n, n]), "cmap");
    this.blendPicker = this.picker("Blend", meta.blends.map((b) => [b, b]), "blend");
    [this.opacity, this.opacityText] = this.slider("Opacity", "alpha", 0, 1, 0.05);
    [this.clipSlider, this.clipText] = this.slider("Clip at", "clip", 50, 100, 0.5);
    this.comparePicker = this.picker("Compare", meta.compares, "compare");
    this.outlineBox = element("input", { type: "checkbox", "data-control": "outline" });
    this.outlineBox.addEventListener("change", () => this.select({ outline: this.outlineBox.checked }));
    this.exportButton = element("button", { type: "button", class: "sw-export", text: "Save PNG" });
    this.exportButton.addEventListener("click", () => this.exportPng());
    const controls = element("div", { class: "sw-controls" }, [
      this.classes,
      element("div", { class: "sw-typed" }, [this.typed, names]),
      this.methodPicker.parentNode,
      this.signs,
      this.cmapPicker.parentNode,
      this.blendPicker.parentNode,
      this.opacity.parentNode,
      this.clipSlider.parentNode,
      this.comparePicker.parentNode,
      meta.masks ? element("label", { class: "sw-check" }, [this.outlineBox, " outline the true object"]) : "",
      this.exportButton,
    ]);
    this.progress = element("progress", { class: "sw-progress", max: 1, value: 0 });
    this.error = element("p", { class: "sw-error", role: "alert" });
    this.status = element("p", { class: "sw-status", "aria-live": "polite" });
    this.download = element("a", { class: "sw-download", hidden: "" });
    this.buildTrust();
    this.root.replaceChildren(
      element("div", { class: "sw-strip" }, [this.thumbs, this.pager]),
      element("div", { class: "sw-body" }, [
        element("div", { class: "sw-main" }, [element("div", { class: "sw-row" }, [this.views, this.trust]), this.bar, this.ranking]),
        controls,
      ]),
      this.progress,
      this.error,
      this.status,
      this.download,
    );
    this.showPage(this.page);
  }

  /** The trust panel beside the maps and the ranking of "all methods" mode under them. */
  buildTrust() {
    const { meta } = this;
    this.rank = (meta.ranks && meta.ranks[0] && meta.ranks[0][0]) || "deletion";
    this.trustPanel = new TrustPanel({
      live: meta.live,
      sanity: meta.sanity,
      onSanity: () => this.source.askSanity(this.state.image, this.state.method, this.state.classIndex),
    });
    this.trust = element("div", { class: "sw-trust", "aria-live": "polite" }, [this.trustPanel.root]);
    this.trust.hidden = !meta.metrics && !meta.sanity;
    this.rankPicker = element("select", { "data-control": "rank" });
    for (const [value, label] of meta.ranks || []) this.rankPicker.append(element("option", { value, text: label }));
    this.rankPicker.addEventListener("change", () => {
      this.rank = this.rankPicker.value;
      this.showTrust();
    });
    this.rankList = element("ol", { class: "sw-ranking-list" });
    this.ranking = element("div", { class: "sw-ranking", hidden: "" }, [
      element("label", { class: "sw-field" }, [element("span", { text: "Rank methods by" }), this.rankPicker]),
      this.rankList,
    ]);
  }

  /** The selected map's figures, and in "all methods" mode the methods ranked by one of them. */
  showTrust() {
    const { state, meta } = this;
    if (this.trust.hidden || state.classIndex === null) return;
    // The kernel scores the selected map by itself after its maps; a view asks only for the
    // other methods' figures, which the ranking needs.
    if (meta.metrics && state.compare === "methods") this.source.needScores(state.image, meta.methods.map((m) => m.name), state.classIndex);
    const card = meta.metrics ? this.source.figures(state.image, state.method, state.classIndex) : undefined;
    const check = this.source.sanity(state.image, state.method, state.classIndex);
    const title = `${this.method(state.method).label}, ${this.className(state.classIndex)}`;
    this.trustPanel.render(card, check, title);
    const ranking = state.compare === "methods" && meta.metrics;
    this.ranking.hidden = !ranking;
    if (!ranking) return;
    this.rankPicker.value = this.rank;
    const rows = meta.methods.map((m) => ({ method: m, card: this.source.figures(state.image, m.name, state.classIndex) }));
    const label = Object.fromEntries(meta.ranks)[this.rank] || this.rank;
    this.rankList.replaceChildren(...ranked(rows, this.rank).map(({ method, card }, place) => {
      const value = rankValue(card, this.rank);
      const shown = value === null ? (card ? "—" : "computing…") : this.rank === "energy" ? percent(value) : value.toFixed(3);
      return element("li", { "data-method": method.name, "data-value": value === null ? "" : String(value), title: `${method.label}: ${label} ${shown}` }, [
        element("span", { class: "sw-rank-place", text: `${place + 1}.` }),
        element("span", { class: "sw-rank-name", text: method.label }),
        element("span", { class: "sw-rank-value", text: shown }),
      ]);
    }));
  }

  picker(text, options, key) {
    const select = element("select", { "data-control": key });
    for (const [value, label] of options) select.append(element("option", { value, text: label }));
    select.addEventListener("change", () => this.select({ [key]: select.value }));
    element("label", { class: "sw-field" }, [element("span", { text }), select]);
    return select;
  }

  slider(text, key, min, max, step) {
    const input = element("input", { type: "range", min, max, step, "data-control": key, id: `${this.id}-${key}` });
    const output = element("output", { for: `${this.id}-${key}` });
    input.addEventListener("input", () => this.select({ [key]: Number(input.value) }));
    element("label", { class: "sw-field" }, [element("span", { text }), input, output]);
    return [input, output];
  }

  /** Shows page `page` of the thumbnails (each page asks only for its own pictures). */
  showPage(page) {
    const { meta, id } = this;
    const pages = Math.max(1, Math.ceil(meta.count / meta.perPage));
    this.page = Math.min(Math.max(page, 0), pages - 1);
    const first = this.page * meta.perPage;
    const last = Math.min(first + meta.perPage, meta.count);
    const top = this.source.predictions();
    const status = this.source.status() || {};
    const errors = status.errors || {};
    const cells = [];
    for (let i = first; i < last; i++) {
      const label = meta.labels ? meta.labels[i] : null;
      const predicted = top ? top.top[i][0] : null;
      const truth = label === null ? "" : `, true class ${this.className(label)}`;
      const guess = predicted === null ? "" : `: predicted ${this.className(predicted)} ${this.score(top.probabilities[i][0])}`;
      const alt = `${meta.names[i]}${guess}${truth}`;
      const input = element("input", { type: "radio", name: `${id}-image`, value: i, "aria-label": alt });
      input.checked = i === this.state.image;
      input.addEventListener("change", () => this.select({ image: i }));
      const wrong = label !== null && predicted !== null && label !== predicted;
      const marks = `sw-thumb${wrong ? " sw-wrong" : ""}${errors[i] ? " sw-failed" : ""}`;
      const picture = element("img", { alt: "", width: 48, height: 48, draggable: "false" });
      this.source.thumbnail(i).then((url) => (picture.src = url));
      cells.push(element("label", { class: marks, title: alt, "data-image": i }, [input, picture]));
    }
    this.thumbs.replaceChildren(...cells);
    this.pager.hidden = pages === 1;
    this.pageText.textContent = `${first + 1}–${last} of ${meta.count}`;
    this.previousPage.disabled = this.page === 0;
    this.nextPage.disabled = this.page === pages - 1;
  }

  /** Arrow keys on the first or last thumbnail of a page go on to the next or previous page. */
  stepAcrossPages(event) {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    const inputs = [...this.thumbs.querySelectorAll("input")];
    const at = inputs.indexOf(event.target);
    if (!step || at < 0) return;
    const edge = step > 0 ? at === inputs.length - 1 : at === 0;
    const image = this.state.image + step;
    if (!edge || image < 0 || image >= this.meta.count) return;
    event.preventDefault();
    this.select({ image });
    this.thumbs.querySelector("input:checked")?.focus();
  }

  // Selection ---------------------------------------------------------------------------------

  /** Changes the selection (any of the state's keys), redraws and reports it. */
  select(changes) {
    const before = this.state;
    this.state = { ...before, ...changes };
    if (changes.image !== undefined && changes.image !== before.image && changes.classIndex === undefined) {
      const top = this.top(changes.image);
      this.state.classIndex = top ? top[0] : null;
    }
    this.notice = "";
    const page = Math.floor(this.state.image / this.meta.perPage);
    if (page !== this.page) this.showPage(page);
    this.source.select(this.state);
    this.update();
    if (this.onSelect) this.onSelect(this.selection());
  }

  /** The selection: image, class index, method and the display options. */
  selection() {
    return { ...this.state };
  }

  /** A class typed by name (any case) or index. */
  typeClass(text) {
    const wanted = text.trim();
    if (!wanted) return;
    const names = this.meta.classNames;
    let index = names.findIndex((name) => name.toLowerCase() === wanted.toLowerCase());
    if (index < 0 && /^\d+$/.test(wanted) && Number(wanted) < names.length) index = Number(wanted);
    if (index < 0) {
      this.notice = `No class named “${wanted}”: type a class name or an index.`;
      this.update();
      return;
    }
    const top = this.top(this.state.image) || [];
    if (!this.meta.live && !top.includes(index)) {
      this.notice = `${this.className(index)} is not among this image's top ${top.length} classes, the only ones this page holds.`;
      this.update();
      return;
    }
    this.typed.value = "";
    this.select({ classIndex: index });
  }

  /** Applies display options set from Python (only those that changed there). */
  applyView(view) {
    const changed = {};
    for (const [key, value] of Object.entries(view)) {
      if (this.lastView && this.lastView[key] === value) continue;
      changed[key] = value;
    }
    this.lastView = { ...view };
    if (Object.keys(changed).length) this.select(changed);
  }

  onSource(kind, detail) {
    if (kind === "predictions") {
      this.pickFirstClass();
      this.showPage(this.page);
      this.update();
    } else if (kind === "maps") {
      if (detail.image === this.state.image) this.update();
    } else if (kind === "scores" || kind === "sanity") {
      if (detail.image === this.state.image) this.showTrust();
    } else if (kind === "status") {
      this.showStatus();
      this.update();
    } else if (kind === "selection") {
      const s = detail || {};
      const now = this.state;
      if (s.image !== now.image || s.class_index !== now.classIndex || s.method !== now.method) {
        this.select({ image: s.image, classIndex: s.class_index ?? null, method: s.method });
      }
    } else if (kind === "view") {
      this.applyView(detail);
    }
  }

  update() {
    const { state, meta, id } = this;
    this.thumbs.querySelectorAll("input").forEach((input) => {
      input.checked = Number(input.value) === state.image;
    });
    const top = this.top(state.image) || [];
    const rows = top.includes(state.classIndex) || state.classIndex === null ? top : [...top, state.classIndex];
    const label = meta.labels ? meta.labels[state.image] : null;
    const classInputs = rows.map((index) => {
      const input = element("input", { type: "radio", name: `${id}-class`, value: index });
      input.checked = index === state.classIndex;
      input.addEventListener("change", () => this.select({ classIndex: index }));
      const p = this.probability(state.image, index);
      const bar = element("span", { class: "sw-bar", "aria-hidden": "true" });
      bar.style.setProperty("--p", `${p === null ? 0 : Math.max(0, Math.min(1, p)) * 100}%`);
      const truth = index === label ? element("span", { class: "sw-true", text: "true" }) : "";
      return element("label", { class: "sw-class", "data-class": index }, [
        input,
        element("span", { class: "sw-name", text: this.className(index) }),
        element("span", { class: "sw-p", text: p === null ? "" : this.score(p) }),
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
    this.clipSlider.value = state.clip;
    this.clipText.textContent = `${Number(state.clip)}%`;
    this.outlineBox.checked = state.outline;
    this.signs.querySelectorAll("input").forEach((input) => {
      input.checked = input.value === state.sign;
    });
    this.showStatus();
    this.ready = this.draw(); // tests and hosts can await the drawn canvas
  }

  showStatus() {
    const status = this.source.status();
    if (status && status.total) {
      this.progress.hidden = status.done >= status.total;
      this.progress.max = status.total;
      this.progress.value = status.done;
    } else {
      this.progress.hidden = true;
    }
    const failure = this.source.failure(this.state.image, this.state.method);
    this.error.hidden = !failure;
    this.error.textContent = failure || "";
  }

  panels() {
    const { state, meta } = this;
    if (state.classIndex === null) return [];
    if (state.compare === "classes") {
      const top = this.top(state.image) || [];
      const rows = top.includes(state.classIndex) ? top : [...top, state.classIndex];
      return rows.map((classIndex) => ({ classIndex, method: state.method }));
    }
    if (state.compare === "methods") {
      return meta.methods.map((m) => ({ classIndex: state.classIndex, method: m.name }));
    }
    return [{ classIndex: state.classIndex, method: state.method }];
  }

  async draw() {
    const ticket = ++this.drawn;
    const { state } = this;
    const panels = this.panels();
    this.source.need(state.image, [...new Set(panels.map((p) => p.method))], state.classIndex);
    const [image, mask, ...held] = await Promise.all([
      this.source.image(state.image),
      state.outline ? this.source.mask(state.image) : null,
      ...panels.map((p) => this.source.maps(state.image, p.method)),
    ]);
    if (ticket !== this.drawn) return; // a newer selection is being drawn
    const table = this.tables[state.cmap];
    const figures = panels.map((panel, j) => this.figure(panel, held[j].get(panel.classIndex), image, mask, table));
    if (state.compare === "single") {
      const original = element("canvas", {
        class: "sw-image", width: image.width, height: image.height, role: "img",
        "aria-label": `image ${this.meta.names[state.image]}`,
      });
      const pixels = new Uint8ClampedArray(image.data);
      if (mask) outline(pixels, image.width, image.height, mask, this.meta.outlineColour);
      original.getContext("2d").putImageData(new ImageData(pixels, image.width, image.height), 0, 0);
      figures.unshift(element("figure", { class: "sw-figure" }, [original, element("figcaption", { text: this.meta.names[state.image] })]));
    }
    this.views.replaceChildren(...figures);
    this.views.dataset.compare = state.compare;
    this.showTrust();
    this.drawBar(table, panels.length === 1 ? held[0].get(panels[0].classIndex) : null);
    this.showStatus();
    this.status.textContent = this.statusText();
    this.root.dataset.drawn = String(ticket);
    const waiting = figures.some((f) => f.dataset.pending === "true");
    this.root.dataset.pending = waiting ? "true" : "false";
  }

  figure(panel, entry, image, mask, table) {
    const { state } = this;
    const method = this.method(panel.method);
    const p = this.probability(state.image, panel.classIndex);
    const name = `${this.className(panel.classIndex)}${p === null ? "" : ` ${this.score(p)}`}`;
    const caption = state.compare === "methods" ? method.label : name;
    const canvas = element("canvas", {
      class: "sw-overlay", width: image.width, height: image.height, role: "img",
      "data-method": panel.method, "data-class": panel.classIndex,
    });
    let pixels;
    let note = "";
    if (entry) {
      const { shown, sorted } = this.shownOf(entry, state.sign);
      const level = levelsOf(shown, percentile(sorted, state.clip));
      pixels = blend(image.data, image.width, image.height, level, entry.width, entry.height, state.blend, state.alpha, table);
      if (sorted[sorted.length - 1] === 0) note = ` (no ${state.sign === "absolute" ? "" : `${state.sign} `}values)`;
    } else {
      pixels = new Uint8ClampedArray(image.data);
      const failure = this.source.failure(state.image, panel.method);
      note = failure ? " (failed)" : this.meta.live ? " (computing…)" : " (not in this page)";
      canvas.dataset.pending = failure ? "failed" : "true";
      canvas.classList.add("sw-pending");
    }
    if (mask) outline(pixels, image.width, image.height, mask, this.meta.outlineColour);
    canvas.setAttribute("aria-label", `${method.label} saliency of ${this.meta.names[state.image]} for class ${name}, ${state.sign} values${note}`);
    canvas.getContext("2d").putImageData(new ImageData(pixels, image.width, image.height), 0, 0);
    const figure = element("figure", { class: "sw-figure" }, [canvas, element("figcaption", { text: caption + note })]);
    figure.dataset.pending = entry ? "false" : "true";
    return figure;
  }

  /** The colour table as a bar, with the map value that full colour stands for. */
  drawBar(table, entry) {
    const { state } = this;
    const context = this.barCanvas.getContext("2d");
    const row = new ImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      const w = state.blend === "mask-image" ? null : i;
      for (let c = 0; c < 3; c++) row.data[i * 4 + c] = w === null ? i : table[i * 3 + c];
      row.data[i * 4 + 3] = 255;
    }
    context.putImageData(row, 0, 0);
    if (!entry) {
      this.barHigh.textContent = "";
      return;
    }
    const { sorted } = this.shownOf(entry, state.sign);
    const value = percentile(sorted, state.clip) * entry.scale;
    const sign = state.sign === "negative" ? "−" : "";
    this.barHigh.textContent = `≥ ${sign}${formatValue(value)} (${state.clip}th percentile)`;
  }

  statusText() {
    const { state, meta } = this;
    const status = this.source.status();
    const method = this.method(state.method).label;
    const base = `${meta.names[state.image]}: ${method}, class ${state.classIndex === null ? "…" : this.className(state.classIndex)}, ${state.sign}, ${state.cmap}, ${state.blend} ${Number(state.alpha).toFixed(2)}`;
    const text = this.notice || (status && status.text ? status.text : base);
    return this.notice || !status ? text : `${text} · ${base}`;
  }

  /** The figures on screen as one PNG, offered as a download. */
  async exportPng() {
    const canvases = [...this.views.querySelectorAll("canvas")];
    if (canvases.length === 0) return null;
    const gap = 8;
    const caption = 18;
    const width = canvases.reduce((sum, c) => sum + c.width, 0) + gap * (canvases.length - 1);
    const height = Math.max(...canvases.map((c) => c.height));
    const scale = Math.max(1, Math.floor(256 / height));
    const sheet = element("canvas", { width: width * scale, height: height * scale + caption });
    const context = sheet.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, sheet.width, sheet.height);
    context.imageSmoothingEnabled = false;
    context.fillStyle = "#222";
    context.font = "12px sans-serif";
    let x = 0;
    for (const canvas of canvases) {
      context.drawImage(canvas, x, 0, canvas.width * scale, canvas.height * scale);
      const text = canvas.closest("figure")?.querySelector("figcaption")?.textContent || "";
      context.fillText(text, x + 2, height * scale + 13, canvas.width * scale - 4);
      x += (canvas.width + gap) * scale;
    }
    const blob = await new Promise((resolve) => sheet.toBlob(resolve, "image/png"));
    const { state } = this;
    this.download.href = URL.createObjectURL(blob);
    this.download.download = `saliency-image${state.image}-class${state.classIndex}-${state.method}.png`;
    this.download.textContent = this.download.download;
    this.download.hidden = false;
    this.download.click();
    return blob;
  }

  destroy() {
    this.unsubscribe();
    this.drawn++;
  }
}

// Entry points --------------------------------------------------------------------------------

/** Mounts every explorer of `root` that is not mounted yet (safe to call again). */
export function mountAll(root = document) {
  const mounted = [];
  for (const node of root.querySelectorAll("[data-saliency-explorer]:not([data-mounted])")) {
    node.setAttribute("data-mounted", "");
    const source = node.querySelector('script[type="application/json"]');
    if (!source) continue;
    node.explorer = new ExplorerView(node, new InlineSource(JSON.parse(source.textContent)));
    mounted.push(node.explorer);
  }
  return mounted;
}

/** anywidget's entry point: the live SaliencyWidget, drawn by the same view. */
function render({ model, el }) {
  const source = new KernelSource(model);
  const root = element("div", { class: "sw-explorer saliency-widget", "data-saliency-widget": "" });
  el.append(root);
  const view = new ExplorerView(root, source);
  root.explorer = view;
  const selection = model.get("selection");
  if (selection && selection.image !== undefined) {
    view.select({ image: selection.image, classIndex: selection.class_index ?? null, method: selection.method });
  }
  view.applyView(model.get("view"));
  return () => {
    view.destroy();
    source.close();
  };
}

export default { render };
