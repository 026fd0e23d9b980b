// Timing in the page for benchmarks/widget_latency.py: evaluated once in JupyterLab's page, it
// defines `window.latency`. Times are epoch milliseconds (performance.timeOrigin +
// performance.now(), the clock the kernel's time.time() reads) unless named `*Ms` (durations).
//
// A change is timed from just before its input event is dispatched to:
// - `work`: the resolution of the view's `ready` (the canvases are drawn, the DOM replaced);
// - `frame`: then one requestAnimationFrame (the frame that will show it starts);
// - `painted`: then a task queued from that frame's callback (it runs once the browser has done
//   the frame's style, layout and paint on the main thread).
// Each change is dispatched after a random pause of 0-16 ms, so that it is not frame-aligned.
(() => {
  if (window.latency) return;
  const epoch = () => performance.timeOrigin + performance.now();
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const channel = new MessageChannel();
  const queued = [];
  channel.port1.onmessage = () => queued.shift()(epoch());
  /** [the next frame's rAF time, the time a task queued from that rAF runs] */
  const frame = () =>
    new Promise((resolve) =>
      requestAnimationFrame(() => {
        const framed = epoch();
        queued.push((painted) => resolve([framed, painted]));
        channel.port2.postMessage(0);
      }),
    );

  const messages = []; // every kernel message the page sends or receives
  let watched = null;
  function watchKernel() {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session.kernel;
    if (watched === kernel) return;
    watched = kernel;
    kernel.anyMessage.connect((_, { msg, direction }) => {
      const type = msg.header.msg_type;
      const found = { t: epoch(), direction, type, channel: msg.channel };
      const data = msg.content && msg.content.data;
      if (type === "comm_msg" && data) {
        found.comm = msg.content.comm_id;
        found.method = data.method;
        if (data.method === "custom") {
          found.kind = data.content.kind;
          found.image = data.content.image ?? data.content.index ?? null;
          found.classes = data.content.classes ? data.content.classes.length : null;
          found.thumb = Boolean(data.content.thumb);
          found.thumbs = Boolean(data.content.thumbs);
        } else if (data.state) {
          found.keys = Object.keys(data.state);
          if (data.state.selection) found.selection = data.state.selection;
        }
        found.buffers = (msg.buffers || []).map((b) => b.byteLength);
      } else if (type === "comm_open") {
        found.comm = msg.content.comm_id;
        found.target = msg.content.target_name;
      }
      messages.push(found);
    });
  }

  function notebook() {
    return window.jupyterapp.shell.currentWidget.content;
  }

  /** The widget view in the output of cell `cell`, or null. */
  function rootOf(cell) {
    return notebook().widgets[cell].node.querySelector("[data-saliency-widget]");
  }

  /** Whether the view shows maps for its selection (every panel has one). */
  function shown(root, image = null) {
    const view = root && root.explorer;
    if (!view || view.state.classIndex === null || root.dataset.pending !== "false") return false;
    if (image !== null && view.state.image !== image) return false;
    return root.querySelector("canvas.sw-overlay:not(.sw-pending)") !== null;
  }

  /** Resolves with the epoch time of the first draw numbered `since` or later (the view counts
   * its draws) after which `test()` holds. */
  function drawnWhen(root, test, since = 0) {
    const done = () => Number(root.dataset.drawn || 0) >= since && test();
    return new Promise((resolve) => {
      if (done()) {
        resolve(epoch());
        return;
      }
      const observer = new MutationObserver(() => {
        if (done()) {
          observer.disconnect();
          resolve(epoch());
        }
      });
      observer.observe(root, { attributes: true, attributeFilter: ["data-pending", "data-drawn"] });
    });
  }

  function runCell(cell) {
    const app = window.jupyterapp;
    notebook().activeCellIndex = cell;
    const started = epoch();
    app.commands.execute("notebook:run-cell");
    return started;
  }

  /** Runs a cell and waits for its code (and the kernel) to finish. */
  async function runCellToEnd(cell) {
    runCell(cell);
    const model = notebook().widgets[cell].model;
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    while (model.executionCount === null || kernel.status !== "idle") await pause(50);
    const errors = model.outputs.toJSON().filter((o) => o.output_type === "error");
    return errors.map((o) => `${o.ename}: ${o.evalue}`);
  }

  /** Cell run -> first map on screen, with the page-side milestones. */
  async function startUp(cell) {
    watchKernel();
    const since = messages.length;
    const marks = {};
    let root = null;
    const appeared = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        root = rootOf(cell);
        if (root) {
          marks.root = epoch();
          observer.disconnect();
          resolve(root);
        }
      });
      observer.observe(notebook().node, { childList: true, subtree: true });
    });
    marks.run = runCell(cell);
    await appeared;
    root.scrollIntoView({ block: "start" });
    marks.shown = await drawnWhen(root, () => shown(root));
    await root.explorer.ready;
    [marks.frame, marks.painted] = await frame();
    const sent = messages.slice(since);
    const first = (test) => (sent.find(test) || {}).t ?? null;
    marks.commOpen = first((m) => m.type === "comm_open" && m.direction === "recv");
    marks.output = first(
      (m) => (m.type === "execute_result" || m.type === "display_data") && m.direction === "recv",
    );
    const viewed = (m) => m.t >= marks.root;
    marks.imageSent = first((m) => m.kind === "images" && !m.thumbs && m.direction === "send");
    marks.imageReceived = first((m) => m.kind === "image" && !m.thumb && m.direction === "recv");
    const thumbs = sent.filter((m) => m.kind === "image" && m.thumb && m.direction === "recv");
    marks.lastThumbnailReceived = thumbs.length ? thumbs[thumbs.length - 1].t : null;
    marks.wantSent = first((m) => m.kind === "want" && m.direction === "send");
    marks.mapsBeforeView = first((m) => m.kind === "maps" && m.direction === "recv" && !viewed(m));
    marks.mapsReceived = first((m) => m.kind === "maps" && m.direction === "recv" && viewed(m));
    marks.predictionsReceived = first(
      (m) => m.direction === "recv" && m.keys && m.keys.includes("predictions"),
    );
    return marks;
  }

  function fail(root, what) {
    const view = root.explorer;
    const canvases = [...root.querySelectorAll("canvas.sw-overlay")].map((c) => c.className);
    const recent = messages.filter((m) => m.selection).slice(-6);
    const detail = { state: view.selection(), pending: root.dataset.pending, canvases, recent };
    throw new Error(`${what}: ${JSON.stringify(detail)}`);
  }

  /** Frames with no change, timed as a change's `frame` and `painted` are (from a random
   * moment): the floor those two figures stand on. */
  async function idleFrames(count) {
    const out = [];
    for (let i = 0; i < count; i++) {
      await pause(Math.random() * 16);
      const started = epoch();
      const [framed, painted] = await frame();
      out.push({ work: 0, frame: framed - started, painted: painted - started });
    }
    return out;
  }

  /** Times one change made by `act()`: {work, frame, painted} in ms. */
  async function timeChange(root, act) {
    await pause(Math.random() * 16);
    const view = root.explorer;
    const started = epoch();
    act();
    await view.ready;
    const worked = epoch();
    const [framed, painted] = await frame();
    return { work: worked - started, frame: framed - started, painted: painted - started };
  }

  function setControl(root, control, value) {
    if (control === "sign") {
      root.querySelector(`.sw-signs input[value="${value}"]`).click();
    } else if (control === "outline") {
      const box = root.querySelector("input[data-control=outline]");
      box.checked = value;
      box.dispatchEvent(new Event("change"));
    } else {
      const input = root.querySelector(`[data-control=${control}]`);
      input.value = String(value);
      const kind = input.tagName === "SELECT" ? "change" : "input";
      input.dispatchEvent(new Event(kind));
    }
  }

  /** Selects (untimed) and waits for the maps: thumbnails, classes and methods through the UI. */
  async function show(root, changes) {
    root.explorer.select(changes);
    await drawnWhen(root, () => shown(root, changes.image ?? null), root.explorer.drawn);
    await root.explorer.ready;
  }

  /** Cosmetic changes: `plan` is [{control, values: [...]}]; images visited `perImage` changes
   * each. Returns {control: [{work, frame, painted, first}]}, `first` when a sign is drawn for
   * the first time on a map (its values sorted). */
  async function cosmetic(cell, plan, images, perImage, compare) {
    const root = rootOf(cell);
    root.scrollIntoView({ block: "start" });
    const seen = new Set();
    const key = (s, sign) => `${s.image}/${s.classIndex}/${s.method}/${sign}/${s.compare}`;
    const results = {};
    const { sign, cmap, blend, alpha, clip, outline } = root.explorer.state;
    const defaults = { sign, cmap, blend, alpha, clip, outline };
    await show(root, { compare });
    for (const { control, values } of plan) {
      await show(root, defaults);
      results[control] = [];
      for (let i = 0; i < values.length; i++) {
        if (i % perImage === 0) {
          const image = images[(i / perImage) % images.length];
          await show(root, { image });
          seen.add(key(root.explorer.state, root.explorer.state.sign));
        }
        const state = root.explorer.state;
        const first = control === "sign" && !seen.has(key(state, values[i]));
        const timing = await timeChange(root, () => setControl(root, control, values[i]));
        if (control === "sign") seen.add(key(root.explorer.state, values[i]));
        if (!shown(root)) fail(root, `${control}=${values[i]}: the view lost its maps`);
        results[control].push({ ...timing, first });
      }
    }
    await show(root, defaults);
    return results;
  }

  /** Selects `changes` through the view (untimed) and waits until its maps are drawn. */
  async function showIn(cell, changes) {
    const root = rootOf(cell);
    root.scrollIntoView({ block: "start" });
    await show(root, changes);
    return root.explorer.selection();
  }

  /** Class switches through the class list's `rows` (maps held in the browser), one round of
   * rows per image of `images`; `first` marks a map drawn for the first time. */
  async function classSwitches(cell, images, rows, count) {
    const root = rootOf(cell);
    const view = root.explorer;
    const drawn = new Set();
    const key = (s) => `${s.image}/${s.classIndex}/${s.method}/${s.compare}`;
    const out = [];
    for (let i = 0; i < count; i++) {
      if (i % rows.length === 0) await show(root, { image: images[(i / rows.length) % images.length] });
      drawn.add(key(view.state));
      const index = view.top(view.state.image)[rows[i % rows.length]];
      const first = !drawn.has(key({ ...view.state, classIndex: index }));
      const row = `label.sw-class[data-class="${index}"] input`;
      const timing = await timeChange(root, () => root.querySelector(row).click());
      if (!shown(root) || view.state.classIndex !== index) fail(root, `class ${index}`);
      out.push({ ...timing, first });
    }
    return out;
  }

  /** `count` switches: each picks `next()` from the view's state, makes it with `act(value)`,
   * and must end drawn with `holds(value)`. */
  async function switchLoop(root, count, next, act, holds, what) {
    const out = [];
    for (let i = 0; i < count; i++) {
      const value = next(root.explorer.state);
      const timing = await timeChange(root, () => act(value));
      if (!shown(root) || !holds(root.explorer.state, value)) fail(root, `${what} ${value}`);
      out.push(timing);
    }
    return out;
  }

  /** Method switches between `methods` (their maps held in the browser). */
  function methodSwitches(cell, methods, count) {
    const root = rootOf(cell);
    const next = (s) => methods[(methods.indexOf(s.method) + 1) % methods.length];
    const act = (method) => setControl(root, "method", method);
    return switchLoop(root, count, next, act, (s, method) => s.method === method, "method");
  }

  /** Thumbnail clicks between `images` (pictures and maps held in the browser). */
  function imageSwitches(cell, images, count) {
    const root = rootOf(cell);
    const next = (s) => images[(images.indexOf(s.image) + 1) % images.length];
    const act = (image) => root.querySelector(`label.sw-thumb[data-image="${image}"] input`).click();
    return switchLoop(root, count, next, act, (s, image) => s.image === image, "image");
  }

  /** Asks for the pictures of `images` (so that a later click waits only for maps). */
  async function holdPictures(cell, images) {
    const source = rootOf(cell).explorer.source;
    await Promise.all(images.map((i) => source.image(i)));
  }

  /** A thumbnail click whose maps the page does not hold (the kernel's cache was emptied by the
   * caller): epoch times of the click, the selection sent, the maps received, drawn, frame. */
  async function uncachedClick(cell, image) {
    watchKernel();
    const root = rootOf(cell);
    const view = root.explorer;
    view.source.held.clear();
    view.source.asked.clear();
    const since = messages.length;
    await pause(Math.random() * 16);
    const marks = { click: epoch() };
    root.querySelector(`label.sw-thumb[data-image="${image}"] input`).click();
    marks.shown = await drawnWhen(root, () => shown(root, image), view.drawn);
    await view.ready;
    [marks.frame, marks.painted] = await frame();
    const seen = messages.slice(since);
    const first = (test) => (seen.find(test) || {}).t ?? null;
    marks.selectionSent = first((m) => m.direction === "send" && m.keys && m.keys.includes("selection"));
    marks.mapsReceived = first((m) => m.direction === "recv" && m.kind === "maps" && m.image === image);
    return marks;
  }

  /** Module import from a blob URL (as anywidget loads `_esm`) and a view built on a held
   * source, drawn: what the front end costs once the data is there. */
  async function frontEndCosts(cell, esm) {
    const t0 = performance.now();
    const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
    const module = await import(url);
    const imported = performance.now();
    URL.revokeObjectURL(url);
    const root = rootOf(cell);
    const host = document.createElement("div");
    root.parentNode.append(host);
    const t1 = performance.now();
    const view = new module.ExplorerView(host, root.explorer.source);
    const built = performance.now();
    await view.ready;
    const drawn = performance.now();
    await frame();
    const framed = performance.now();
    view.destroy();
    host.remove();
    return {
      importMs: imported - t0,
      constructMs: built - t1,
      drawMs: drawn - built,
      frameMs: framed - t1,
    };
  }

  /** The steps of one redraw of the selected map, timed apart (medians of `reps`, ms) with the
   * module's own exported functions, beside a whole redraw (`view.update()` to `ready`). */
  async function drawSteps(cell, esm, reps) {
    const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
    const m = await import(url);
    URL.revokeObjectURL(url);
    const root = rootOf(cell);
    root.scrollIntoView({ block: "start" });
    const view = root.explorer;
    const s = view.state;
    const entry = (await view.source.maps(s.image, s.method)).get(s.classIndex);
    const image = await view.source.image(s.image);
    const mask = s.outline ? await view.source.mask(s.image) : null;
    const table = view.tables[s.cmap];
    const times = {};
    const time = (name, run) => {
      const t0 = performance.now();
      const out = run();
      (times[name] = times[name] || []).push(performance.now() - t0);
      return out;
    };
    for (let r = 0; r < reps; r++) {
      const shown = time("sign: shownValues", () => m.shownValues(entry.values, "positive"));
      const sorted = time("sign: sort a copy", () => Float64Array.from(shown).sort());
      const top = time("clip: percentile", () => m.percentile(sorted, s.clip));
      const level = time("levels", () => m.levelsOf(shown, top));
      const pixels = time("blend (heat)", () =>
        m.blend(image.data, image.width, image.height, level, entry.width, entry.height, "heat",
          s.alpha, table));
      time("blend (mask)", () =>
        m.blend(image.data, image.width, image.height, level, entry.width, entry.height, "mask",
          s.alpha, table));
      if (mask) time("outline", () => m.outline(pixels, image.width, image.height, mask, [255, 0, 0]));
      const context = time("new canvas + getContext", () => {
        const canvas = document.createElement("canvas");
        canvas.width = image.width;
        canvas.height = image.height;
        return canvas.getContext("2d");
      });
      time("putImageData", () =>
        context.putImageData(new ImageData(pixels, image.width, image.height), 0, 0));
      await pause(Math.random() * 16);
      const t0 = performance.now();
      view.update();
      await view.ready;
      (times["whole redraw: update() to ready"] = times["whole redraw: update() to ready"] || [])
        .push(performance.now() - t0);
    }
    const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
    return {
      shape: [entry.height, entry.width],
      steps: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])),
    };
  }

  window.latency = {
    epoch, watchKernel, messages, rootOf, runCellToEnd, startUp, showIn, cosmetic,
    classSwitches, methodSwitches, imageSwitches, holdPictures, uncachedClick, frontEndCosts,
    drawSteps, idleFrames,
  };
})();
