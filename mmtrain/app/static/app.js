// The page of `mmtrain app`: open a video, draw a region, see its waveform and spectrum, click a peak
// to set the band, preview magnified frames beside the input, export.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { video: null, info: null, image: null, drag: null, spectrum: null };

function message(text) { $("message").textContent = text || ""; }
function status(text) { $("status").textContent = text || ""; }

async function call(method, url, body) {
  const options = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) options.body = JSON.stringify(body);
  const response = await fetch(url, options);
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("application/json") ? await response.json() : null;
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

async function busy(what, work) {
  message(""); status(what + "...");
  try { await work(); status(""); } catch (err) { status(""); message(err.message); }
}

async function loadVideos() {
  const data = await call("GET", "api/videos");
  const select = $("video");
  select.innerHTML = "";
  for (const name of data.videos) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    select.appendChild(option);
  }
  status(`${data.videos.length} video(s) in ${data.folder}`);
}

function roi() { return ["roi-x", "roi-y", "roi-w", "roi-h"].map((id) => parseInt($(id).value, 10)); }
function setRoi(r) { ["roi-x", "roi-y", "roi-w", "roi-h"].forEach((id, i) => { $(id).value = r[i]; }); drawFrame(); }

function drawFrame() {
  const canvas = $("frame"), ctx = canvas.getContext("2d");
  if (!state.image) return;
  ctx.drawImage(state.image, 0, 0);
  const r = roi();
  if (r.every(Number.isFinite)) {
    ctx.strokeStyle = "#ff0"; ctx.lineWidth = 1; ctx.strokeRect(r[0] + 0.5, r[1] + 0.5, r[2] - 1, r[3] - 1);
  }
}

async function openVideo() {
  const name = $("video").value;
  state.video = null; state.image = null;
  $("info").textContent = "";
  const info = await call("GET", "api/info?video=" + encodeURIComponent(name));
  const image = new Image();
  await new Promise((resolve, reject) => {
    image.onload = resolve;
    image.onerror = () => reject(new Error(`${name}: the first frame could not be shown`));
    image.src = "api/frame?index=0&video=" + encodeURIComponent(name);
  });
  Object.assign(state, { video: name, info, image });
  const canvas = $("frame");
  canvas.width = info.width; canvas.height = info.height;
  $("info").textContent = `${info.width}x${info.height}, ${info.n_frames} frames at ${info.fps.toFixed(3)} fps`;
  setRoi([0, 0, info.width, info.height]);
}

function canvasPoint(event) {  // in the frame's pixels (offsetX: from the canvas's padding edge, past its border)
  const canvas = $("frame");
  const x = Math.round(event.offsetX * canvas.width / canvas.clientWidth);
  const y = Math.round(event.offsetY * canvas.height / canvas.clientHeight);
  return [Math.min(Math.max(x, 0), canvas.width), Math.min(Math.max(y, 0), canvas.height)];
}

function dragTo(event) {
  const [x0, y0] = state.drag, [x1, y1] = canvasPoint(event);
  setRoi([Math.min(x0, x1), Math.min(y0, y1), Math.max(Math.abs(x1 - x0), 1), Math.max(Math.abs(y1 - y0), 1)]);
}

function request() {
  if (!state.video) throw new Error("open a video first");
  const frames = $("frames").value;
  return { video: state.video, roi: roi(), start: parseInt($("start").value || "0", 10),
           frames: frames ? parseInt(frames, 10) : null };
}

function plot(canvas, xs, series, xlabel, ylabel, marks) {  // series: {y, color, dash, x (default xs)}
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 36;
  ctx.clearRect(0, 0, w, h);
  const all = series.flatMap((s) => s.y);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (!(hi > lo)) { lo -= 1; hi += 1; }
  const x0 = xs[0], x1 = xs[xs.length - 1] > x0 ? xs[xs.length - 1] : x0 + 1;
  const px = (x) => pad + (x - x0) / (x1 - x0) * (w - pad - 8);
  const py = (y) => h - pad + 8 - (y - lo) / (hi - lo) * (h - pad - 8);
  ctx.strokeStyle = "#000"; ctx.strokeRect(pad, 8, w - pad - 8, h - pad);
  ctx.fillStyle = "#000"; ctx.font = "11px sans-serif";
  ctx.fillText(xlabel, w / 2 - 20, h - 4);
  ctx.fillText(`${hi.toPrecision(3)}`, 2, 16); ctx.fillText(`${lo.toPrecision(3)}`, 2, h - pad + 8);
  ctx.fillText(`${x0.toPrecision(3)}`, pad, h - pad + 20); ctx.fillText(`${x1.toPrecision(3)}`, w - 40, h - pad + 20);
  ctx.fillText(ylabel, pad + 4, 20);
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.setLineDash(s.dash || []); ctx.beginPath();
    const sx = s.x || xs;
    s.y.forEach((y, i) => (i ? ctx.lineTo(px(sx[i]), py(y)) : ctx.moveTo(px(sx[i]), py(y))));
    ctx.stroke();
  }
  ctx.setLineDash([]);
  for (const m of marks || []) {
    ctx.fillStyle = "#c00"; ctx.beginPath(); ctx.arc(px(m.x), py(m.y), 4, 0, 2 * Math.PI); ctx.fill();
  }
  canvas.toX = (clientX) => { const box = canvas.getBoundingClientRect();
    return x0 + ((clientX - box.left) * w / box.width - pad) / (w - pad - 8) * (x1 - x0); };
}

function choosePeak(peak) {
  $("band-low").value = peak.band_hz[0].toFixed(3);
  $("band-high").value = peak.band_hz[1].toFixed(3);
  $("mode").value = "temporal";
  status(`band ${peak.band_hz[0].toFixed(3)}-${peak.band_hz[1].toFixed(3)} Hz (peak at ${peak.freq_hz.toFixed(3)} Hz)`);
}

async function analyse() {
  const data = await call("POST", "api/spectrum", request());
  state.spectrum = data;
  plot($("waveform"), data.t, [{ y: data.dx, color: "#06c" }, { y: data.dy, color: "#c60" }],
       "time (s)", "displacement (px): x blue, y orange");
  plot($("spectrum"), data.freqs, [{ y: data.amp_x, color: "#06c" }, { y: data.amp_y, color: "#c60" },
                                   { x: data.bin_freqs, y: data.threshold_x, color: "#06c", dash: [3, 3] },
                                   { x: data.bin_freqs, y: data.threshold_y, color: "#c60", dash: [3, 3] }],
       "frequency (Hz)", "amplitude (px); dashed: detection threshold",
       data.peaks.map((p) => ({ x: p.freq_hz, y: p.amplitude_px })));
  const list = $("peaks");
  list.innerHTML = "";
  data.peaks.forEach((peak, i) => {
    const button = document.createElement("button");
    button.className = "peak"; button.id = `peak-${i + 1}`;
    button.textContent = `${peak.freq_hz.toFixed(3)} Hz, ${peak.amplitude_px.toPrecision(3)} px (${peak.axis})`;
    button.addEventListener("click", () => choosePeak(peak));
    list.appendChild(button);
  });
  if (!data.peaks.length) list.textContent = "none above the noise floor";
}

function magnifyRequest() {
  const body = Object.assign(request(), { alpha: parseFloat($("alpha").value), method: $("method").value,
                                          mode: $("mode").value, filter: $("filter").value });
  if (body.mode === "temporal") {
    const band = [parseFloat($("band-low").value), parseFloat($("band-high").value)];
    if (!band.every(Number.isFinite)) throw new Error("band: click a peak of the spectrum or type the band");
    body.band = band;
  }
  return body;
}

async function preview() {
  const data = await call("POST", "api/preview", magnifyRequest());
  const box = $("previews");
  box.innerHTML = "";
  for (const f of data.frames) {
    for (const [kind, src] of [["input", f.input], ["magnified", f.output]]) {
      const figure = document.createElement("figure");
      const img = document.createElement("img");
      img.src = src; img.className = kind; img.alt = `frame ${f.index} ${kind}`;
      const caption = document.createElement("figcaption");
      caption.textContent = `frame ${f.index}, ${kind}`;
      figure.append(img, caption); box.appendChild(figure);
    }
  }
}

async function exportVideo() {
  const data = await call("POST", "api/export", Object.assign(magnifyRequest(), { output: $("output").value }));
  $("export-result").textContent = `${data.output}: ${data.frames} frames (${data.codec}) in ${data.seconds} s`;
}

window.addEventListener("load", () => {
  $("open").addEventListener("click", () => busy("opening", openVideo));
  $("analyse").addEventListener("click", () => busy("analysing", analyse));
  $("preview").addEventListener("click", () => busy("magnifying a preview", preview));
  $("export").addEventListener("click", () => busy("exporting", exportVideo));
  ["roi-x", "roi-y", "roi-w", "roi-h"].forEach((id) => $(id).addEventListener("change", drawFrame));
  const frame = $("frame");
  frame.addEventListener("mousedown", (e) => { if (state.image) state.drag = canvasPoint(e); });
  frame.addEventListener("mousemove", (e) => { if (state.drag) dragTo(e); });
  frame.addEventListener("mouseup", (e) => { if (state.drag) { dragTo(e); state.drag = null; } });
  window.addEventListener("mouseup", () => { state.drag = null; });
  $("spectrum").addEventListener("click", (e) => {
    const peaks = (state.spectrum && state.spectrum.peaks) || [];
    if (!peaks.length) return;
    const f = e.target.toX(e.clientX);
    choosePeak(peaks.reduce((a, b) => (Math.abs(b.freq_hz - f) < Math.abs(a.freq_hz - f) ? b : a)));
  });
  busy("listing videos", loadVideos);
});
