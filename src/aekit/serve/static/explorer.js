// aekit's latent-space explorer: plain JavaScript and canvas, no library, nothing fetched but aekit's own API.
"use strict";
(function () {
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const PICK_RADIUS = 8; // pixels: how close a pointer must be to an example to show or pick it
  const $ = (id) => document.getElementById(id);
  const state = { data: null, images: null, grid: null, served: false, picked: null, a: 0, b: 1, seq: {} };
  window.__aekitExplorer = state; // for the browser tests and the console

  function bytesOf(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function colour(label) {
    if (label === null || label === undefined) return PALETTE[0];
    return label < PALETTE.length ? PALETTE[label] : "hsl(" + ((label * 47) % 360) + ",60%,45%)";
  }

  function imageSize() { const s = state.data.display.shape; return s[0] * s[1] * s[2]; }

  // one image (C, H, W planes of 8-bit pixels at `offset`) drawn into a box of a canvas
  function drawImage(canvas, bytes, offset, box) {
    const [c, h, w] = state.data.display.shape;
    const img = new ImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      const r = bytes[offset + i];
      img.data[4 * i] = r;
      img.data[4 * i + 1] = c === 3 ? bytes[offset + h * w + i] : r;
      img.data[4 * i + 2] = c === 3 ? bytes[offset + 2 * h * w + i] : r;
      img.data[4 * i + 3] = 255;
    }
    const tmp = document.createElement("canvas");
    tmp.width = w; tmp.height = h;
    tmp.getContext("2d").putImageData(img, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    const [x, y, bw, bh] = box || [0, 0, canvas.width, canvas.height];
    if (!box) ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(tmp, x, y, bw, bh);
  }

  function drawTiles(canvas, bytes, count, cols) {
    const rows = Math.ceil(count / cols), size = imageSize();
    const tw = canvas.width / cols, th = canvas.height / rows;
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < count; i++) drawImage(canvas, bytes, i * size, [(i % cols) * tw, Math.floor(i / cols) * th, tw, th]);
  }

  // model outputs (floats in data units) to 8-bit pixels, as the page's images were made
  function toBytes(values) {
    const { low, high } = state.data.display, span = (high - low) || 1;
    const out = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, (values[i] - low) / span)) * 255);
    return out;
  }

  // ------------------------------------------------------------------ map <-> canvas <-> code
  function toCanvas(p) {
    const [x0, x1, y0, y1] = state.data.map.extent, c = $("map");
    return [(p[0] - x0) / (x1 - x0) * c.width, (1 - (p[1] - y0) / (y1 - y0)) * c.height];
  }
  function fromCanvas(px, py) {
    const [x0, x1, y0, y1] = state.data.map.extent, c = $("map");
    return [x0 + px / c.width * (x1 - x0), y0 + (1 - py / c.height) * (y1 - y0)];
  }
  function codeAt(p) { // a map point back in code space: mean + p . components
    const { mean, components } = state.data.map;
    return mean.map((m, j) => m + p[0] * components[0][j] + p[1] * components[1][j]);
  }
  function mapOf(code) {
    const { mean, components } = state.data.map;
    return [0, 1].map((r) => code.reduce((s, v, j) => s + (v - mean[j]) * components[r][j], 0));
  }
  function exampleCode(i) { return state.data.codes ? state.data.codes[i] : codeAt(state.data.points[i]); }
  function nearest(px, py) {
    let best = null, bestD = PICK_RADIUS * PICK_RADIUS;
    state.data.points.forEach((p, i) => {
      const [cx, cy] = toCanvas(p), d = (cx - px) ** 2 + (cy - py) ** 2;
      if (d <= bestD) { best = i; bestD = d; }
    });
    return best;
  }

  // ------------------------------------------------------------------ decoding
  // served: the model decodes each code; self-contained: the nearest image of the decoded grid
  async function decode(codes) {
    if (state.served) {
      const response = await fetch("v1/models/" + encodeURIComponent(state.data.name) + "/decode", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify(state.data.condition === null ? { codes: codes }
          : { codes: codes, labels: codes.map(() => state.data.condition) }) }); // conditional: the page's class
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || response.statusText);
      return toBytes(body.outputs.flat(Infinity));
    }
    const g = state.data.grid.size, [x0, x1, y0, y1] = state.data.map.extent, size = imageSize();
    const out = new Uint8Array(codes.length * size);
    codes.forEach((code, k) => {
      const p = mapOf(code);
      const col = Math.min(g - 1, Math.max(0, Math.round((p[0] - x0) / (x1 - x0) * (g - 1))));
      const row = Math.min(g - 1, Math.max(0, Math.round((y1 - p[1]) / (y1 - y0) * (g - 1))));
      out.set(state.grid.subarray((row * g + col) * size, (row * g + col + 1) * size), k * size);
    });
    return out;
  }

  // draw into `canvas` what `job` decodes, unless a later job for the same canvas finished first
  async function show(canvas, job, info, text) {
    const ticket = (state.seq[canvas.id] = (state.seq[canvas.id] || 0) + 1);
    try {
      const bytes = await job;
      if (ticket !== state.seq[canvas.id]) return;
      drawImage(canvas, bytes, 0);
      canvas.dataset.state = "decoded";
      canvas.dataset.count = String((Number(canvas.dataset.count) || 0) + 1);
      if (info) info.textContent = text;
    } catch (err) {
      if (info) info.textContent = "error: " + err.message;
    }
  }

  // ------------------------------------------------------------------ drawing
  function drawMap() {
    const canvas = $("map"), ctx = canvas.getContext("2d"), d = state.data;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    let drawn = 0;
    d.points.forEach((p, i) => {
      const [x, y] = toCanvas(p);
      ctx.fillStyle = colour(d.labels ? d.labels[i] : null);
      ctx.globalAlpha = 0.75;
      ctx.beginPath(); ctx.arc(x, y, 2.5, 0, 2 * Math.PI); ctx.fill();
      drawn++;
    });
    ctx.globalAlpha = 1;
    [[state.a, "A"], [state.b, "B"]].forEach(([i, name]) => {
      const [x, y] = toCanvas(d.points[i]);
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillStyle = "#000"; ctx.font = "bold 12px sans-serif"; ctx.fillText(name, x + 8, y - 8);
    });
    canvas.dataset.points = String(drawn);
  }

  function drawLegend() {
    const legend = $("legend"), d = state.data;
    legend.textContent = "";
    if (!d.labels) return;
    [...new Set(d.labels)].sort((a, b) => a - b).forEach((label) => {
      const item = document.createElement("span"), dot = document.createElement("i");
      dot.style.background = colour(label);
      item.append(dot, d.classes && d.classes[label] !== undefined ? d.classes[label] : String(label));
      legend.append(item);
    });
  }

  function labelOf(i) {
    const d = state.data;
    if (!d.labels) return "#" + i;
    const label = d.labels[i];
    return "#" + i + " " + (d.classes && d.classes[label] !== undefined ? d.classes[label] : label);
  }

  function interpolate() {
    const t = Number($("slider").value) / Number($("slider").max);
    const a = exampleCode(state.a), b = exampleCode(state.b);
    $("t-info").textContent = "t = " + t.toFixed(1);
    show($("interp"), decode([a.map((v, j) => (1 - t) * v + t * b[j])]), null, "");
  }

  function setEnds() {
    drawImage($("interp-a"), state.images, state.a * imageSize());
    drawImage($("interp-b"), state.images, state.b * imageSize());
    $("a-info").textContent = "A " + labelOf(state.a);
    $("b-info").textContent = "B " + labelOf(state.b);
    drawMap();
    interpolate();
  }

  function drawExtremes(anomaly) {
    $("anomaly-panel").hidden = false;
    $("anomaly-score").textContent = "(score: " + anomaly.score + "; flagged above " + anomaly.threshold.toPrecision(3) + ")";
    [["most", anomaly.most], ["least", anomaly.least]].forEach(([id, list]) => {
      const strip = $(id);
      strip.textContent = "";
      list.forEach((entry) => {
        const fig = document.createElement("figure"), canvas = document.createElement("canvas"),
              caption = document.createElement("figcaption");
        canvas.width = canvas.height = 56;
        drawImage(canvas, state.images, entry.index * imageSize());
        caption.textContent = "#" + entry.index + " " + entry.score.toPrecision(3);
        fig.append(canvas, caption);
        strip.append(fig);
      });
    });
  }

  function render(data) {
    state.data = data;
    state.images = bytesOf(data.images);
    state.grid = bytesOf(data.grid.images);
    state.a = 0;
    state.b = data.labels ? Math.max(0, data.labels.findIndex((l) => l !== data.labels[0])) : Math.min(1, data.points.length - 1);
    state.picked = null;
    $("map-method").textContent = data.map.method === "code" ? "(the 2-D code itself)"
      : "(first two principal components: " + data.map.explained.map((v) => (100 * v).toFixed(0) + "%").join(" + ") + " of the variance)";
    $("grid-title").textContent = data.variational ? "Decoded manifold (grid over the map)" : "Decoded over the map";
    drawLegend();
    drawTiles($("manifold"), state.grid, data.grid.size * data.grid.size, data.grid.size);
    $("samples-panel").hidden = !data.samples;
    if (data.samples) drawTiles($("samples"), bytesOf(data.samples), 16, 4);
    $("anomaly-panel").hidden = !data.anomaly;
    if (data.anomaly) drawExtremes(data.anomaly);
    setEnds();
    $("status").textContent = data.name + ": " + data.preset + " on " + data.dataset + ", " + data.points.length +
      " test examples, code size " + data.code_size +
      (data.condition === null ? "" : ", decoded as class " + (data.classes ? data.classes[data.condition] : data.condition)) +
      (state.served ? "" : " (self-contained page: clicks decode from the grid)");
    document.body.dataset.ready = "true";
  }

  // ------------------------------------------------------------------ events
  function wire() {
    const map = $("map");
    map.addEventListener("mousemove", (ev) => {
      const i = nearest(ev.offsetX, ev.offsetY);
      if (i === null) return;
      drawImage($("hover"), state.images, i * imageSize());
      $("hover-info").textContent = labelOf(i);
    });
    map.addEventListener("click", (ev) => {
      const p = fromCanvas(ev.offsetX, ev.offsetY), near = nearest(ev.offsetX, ev.offsetY);
      if (near !== null) { state.picked = near; $("picked-info").textContent = "picked: " + labelOf(near); }
      show($("decoded"), decode([codeAt(p)]), $("decoded-info"),
           "decoded at (" + p[0].toFixed(2) + ", " + p[1].toFixed(2) + ")" + (state.served ? "" : " from the grid"));
    });
    $("slider").addEventListener("input", interpolate);
    $("set-a").addEventListener("click", () => { if (state.picked !== null) { state.a = state.picked; setEnds(); } });
    $("set-b").addEventListener("click", () => { if (state.picked !== null) { state.b = state.picked; setEnds(); } });
    $("model").addEventListener("change", () => load($("model").value));
  }

  async function load(name) {
    $("status").textContent = "loading " + name + "…";
    const response = await fetch("v1/models/" + encodeURIComponent(name) + "/explorer");
    const body = await response.json();
    if (!response.ok) { $("status").textContent = "error: " + body.error; return; }
    render(body);
  }

  async function start() {
    wire();
    const inline = $("aekit-data").textContent.trim();
    if (inline) {
      const data = JSON.parse(inline);
      const option = document.createElement("option");
      option.textContent = data.name;
      $("model").append(option);
      render(data);
      return;
    }
    state.served = true;
    const response = await fetch("v1/models");
    const models = (await response.json()).models.filter((m) => m.operations.includes("explorer"));
    models.forEach((m) => {
      const option = document.createElement("option");
      option.value = option.textContent = m.name;
      $("model").append(option);
    });
    if (!models.length) { $("status").textContent = "no autoencoder run to explore here; the API is at /docs"; return; }
    await load(models[0].name);
  }

  start().catch((err) => { $("status").textContent = "error: " + err.message; });
})();
