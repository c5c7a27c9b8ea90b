// StateCast playground: speak over the /v1/stream websocket and play the audio as it arrives.
//
// Audio path: each "chunk" event carries pcm_f32le samples (base64). Every chunk
// becomes one AudioBufferSourceNode started exactly where the previous one ends
// (`nextTime`), so the chunks join without gaps. We ask the server for the
// AudioContext's own rate when the protocol offers it (the server's resampler is
// stateful, so chunk joins stay clean); otherwise we take the voice's rate and
// let WebAudio resample each buffer.
//
// Word highlighting: "timestamps" events give word times in seconds of the
// context's audio. `segments` maps audio seconds to AudioContext time (one
// segment per uninterrupted run of chunks; an underrun starts a new one), so
// the word under the playhead can be found at any moment.
//
// The #player element carries counters as data attributes (chunks, samples
// scheduled, words highlighted, frames drawn, state) for tests and for anyone
// curious in the devtools.
"use strict";

(() => {
  const WS_RATES = [8000, 16000, 22050, 24000, 44100, 48000];
  const LEAD_S = 0.08;       // first chunk (and any chunk after an underrun) starts this far ahead of now
  const GAP_GUARD_S = 0.005; // later than this behind the clock counts as an underrun

  const $ = (id) => document.getElementById(id);
  const ui = {
    player: $("player"), text: $("text"), voice: $("voice"), voice2: $("voice2"), mix: $("mix"),
    mixValue: $("mix-value"), speed: $("speed"), speedValue: $("speed-value"), key: $("api-key"),
    speak: $("speak"), stop: $("stop"), error: $("error"), status: $("status"), ttfa: $("ttfa"),
    serverTtfa: $("server-ttfa"), audioLen: $("audio-len"), chunkCount: $("chunk-count"),
    gapCount: $("gap-count"),
    wave: $("wave"), words: $("words"),
  };

  const st = {
    voiceRate: 24000, ws: null, wsOpening: null, seq: 0,
    ctx: null,          // the current context: {id, live, stopped, sentAt, firstAt}
    audio: null, analyser: null, sources: new Set(),
    nextTime: 0, scheduledS: 0, segments: [],
    words: [], current: -1,
    counts: { chunks: 0, samplesScheduled: 0, underruns: 0, wordsHighlighted: 0, framesDrawn: 0 },
  };

  // ---- small pure helpers -----------------------------------------------------------------

  function decodeF32(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer, 0, bytes.length >> 2); // little-endian, as every browser CPU is
  }

  // Audio seconds under the playhead at AudioContext time t, or -1 before the first sample.
  function audioPosition(segments, t, scheduledS) {
    let seg = null;
    for (const s of segments) { if (s.at <= t) seg = s; else break; }
    if (!seg) return -1;
    return Math.min(seg.audioS + (t - seg.at), scheduledS);
  }

  // Index of the last word begun at audio second pos (-1 if none yet or the audio is over).
  function wordAt(words, pos, endS) {
    if (pos < 0 || pos >= endS) return -1;
    let idx = -1;
    for (let i = 0; i < words.length && words[i].start <= pos; i++) idx = i;
    return idx;
  }

  // ---- display ------------------------------------------------------------------------------

  function publish() {
    const d = ui.player.dataset, c = st.counts;
    d.chunks = c.chunks; d.samplesScheduled = c.samplesScheduled; d.underruns = c.underruns;
    d.wordsHighlighted = c.wordsHighlighted; d.framesDrawn = c.framesDrawn;
    ui.chunkCount.textContent = c.chunks;
    ui.gapCount.textContent = c.underruns;
  }

  function setState(name, label) {
    ui.player.dataset.state = name;
    ui.status.textContent = label || name;
    const busy = (st.ctx && st.ctx.live) || st.sources.size > 0;
    ui.stop.disabled = !busy;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
  }

  function clearError() {
    ui.error.textContent = "";
    ui.error.hidden = true;
  }

  function authHeaders() {
    const key = ui.key.value.trim();
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  // ---- voices -------------------------------------------------------------------------------

  function fillSelect(select, names, selected, withNone) {
    select.replaceChildren();
    if (withNone) select.append(new Option("(none)", ""));
    for (const n of names) select.append(new Option(n.label, n.name, false, n.name === selected));
  }

  async function loadVoices() {
    let resp;
    try {
      resp = await fetch("/v1/voices", { headers: authHeaders() });
    } catch (e) {
      showError(`could not reach the server: ${e.message}`);
      return;
    }
    if (resp.status === 401) {
      showError("this server needs an API key: type it in the API key field");
      ui.voice.replaceChildren(new Option("(API key needed)", ""));
      return;
    }
    if (!resp.ok) {
      showError(`GET /v1/voices failed: HTTP ${resp.status}`);
      return;
    }
    const body = await resp.json();
    const names = body.voices.map((v) => ({
      name: v.name, label: [v.name, v.lang, v.gender].filter(Boolean).join(" · "),
    }));
    st.voiceRate = body.sample_rate;
    fillSelect(ui.voice, names, body.default, false);
    fillSelect(ui.voice2, names, "", true);
    ui.voice.disabled = ui.voice2.disabled = false;
    ui.player.dataset.voices = names.length;
    clearError();
    syncSliders();
  }

  function syncSliders() {
    const second = ui.voice2.value && ui.voice2.value !== ui.voice.value;
    ui.mix.disabled = !second;
    ui.mixValue.textContent = `${ui.mix.value}%`;
    ui.speedValue.textContent = `${Number(ui.speed.value).toFixed(2)}×`;
  }

  function voiceSpec() {
    const a = ui.voice.value, b = ui.voice2.value, w = Number(ui.mix.value) / 100;
    if (!a) return null; // the server's default
    if (!b || b === a || w <= 0) return a;
    if (w >= 1) return b;
    return { [a]: Number((1 - w).toFixed(2)), [b]: Number(w.toFixed(2)) };
  }

  // ---- websocket ----------------------------------------------------------------------------

  function connect() {
    if (st.ws && st.ws.readyState === WebSocket.OPEN) return Promise.resolve(st.ws);
    if (st.wsOpening) return st.wsOpening;
    const key = ui.key.value.trim();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${proto}//${location.host}/v1/stream${key ? `?api_key=${encodeURIComponent(key)}` : ""}`;
    st.wsOpening = new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => { st.ws = ws; st.wsOpening = null; resolve(ws); };
      ws.onmessage = (m) => onEvent(JSON.parse(m.data));
      ws.onclose = (e) => {
        if (st.wsOpening) { st.wsOpening = null; reject(new Error(`websocket closed (${e.code})`)); }
        if (st.ws === ws) st.ws = null;
        if (st.ctx && st.ctx.live) {
          st.ctx.live = false;
          if (ui.error.hidden) showError(`connection closed (code ${e.code})`);
          setState("error");
        }
      };
    });
    return st.wsOpening;
  }

  function dropConnection() {
    if (st.ws) st.ws.close();
    st.ws = null;
  }

  function onEvent(ev) {
    const ctx = st.ctx;
    const mine = ctx && ev.context_id === ctx.id;
    if (ev.type === "error") {
      // a context we left behind, or a Stop that crossed the server's "done": nothing to show
      if (ev.context_id !== undefined && (!mine || (ctx.stopped && ev.code === "context_finished"))) return;
      showError(`${ev.code}: ${ev.message}`);
      if (mine || ev.context_id === undefined) {
        if (ctx) ctx.live = false;
        setState("error");
      }
      return;
    }
    if (!mine) return; // a context we already left behind
    if (ev.type === "cancelled") {
      ctx.live = false;
      setState("cancelled");
      return;
    }
    if (ctx.stopped) { // Stop pressed: audio still in flight is dropped
      if (ev.type === "done") { ctx.live = false; setState("cancelled"); } // it finished before our cancel landed
      return;
    }
    if (ev.type === "chunk") onChunk(ctx, ev);
    else if (ev.type === "timestamps") addWords(ev.words);
    else if (ev.type === "done") {
      ctx.live = false;
      ui.serverTtfa.textContent = ev.ttfa_ms == null ? "–" : `${ev.ttfa_ms.toFixed(1)} ms`;
      ui.player.dataset.serverTtfaMs = ev.ttfa_ms == null ? "" : ev.ttfa_ms;
      ui.audioLen.textContent = `${(ev.audio_ms / 1000).toFixed(2)} s`;
      setState("done");
    }
  }

  // ---- audio --------------------------------------------------------------------------------

  function ensureAudio() {
    if (!st.audio) {
      st.audio = new AudioContext({ latencyHint: "interactive" });
      st.analyser = st.audio.createAnalyser();
      st.analyser.fftSize = 2048;
      st.analyser.connect(st.audio.destination);
    }
    return st.audio.resume();
  }

  function onChunk(ctx, ev) {
    if (ev.encoding !== "pcm_f32le") {
      showError(`unexpected encoding ${ev.encoding}`);
      return;
    }
    if (ctx.firstAt === null) {
      ctx.firstAt = performance.now();
      const ms = ctx.firstAt - ctx.sentAt;
      ui.ttfa.textContent = `${ms.toFixed(0)} ms`;
      ui.player.dataset.ttfaMs = ms.toFixed(1);
    }
    schedule(decodeF32(ev.data), ev.sample_rate);
    st.counts.chunks += 1;
    publish();
  }

  function schedule(samples, rate) {
    const audio = st.audio;
    const buf = audio.createBuffer(1, samples.length, rate);
    buf.copyToChannel(samples, 0);
    const src = audio.createBufferSource();
    src.buffer = buf;
    src.connect(st.analyser);
    const now = audio.currentTime;
    if (st.nextTime < now + GAP_GUARD_S) {
      // nothing queued (first chunk) or we ran dry: start a new segment a little ahead of now
      if (st.segments.length) st.counts.underruns += 1;
      st.nextTime = now + LEAD_S;
      st.segments.push({ at: st.nextTime, audioS: st.scheduledS });
    }
    src.start(st.nextTime);
    src.onended = () => {
      st.sources.delete(src);
      if (!st.sources.size) setState(ui.player.dataset.state, ui.status.textContent);
    };
    st.sources.add(src);
    st.nextTime += samples.length / rate;
    st.scheduledS += samples.length / rate;
    st.counts.samplesScheduled += samples.length;
  }

  function stopAudio() {
    for (const src of st.sources) {
      src.onended = null;
      try { src.stop(); } catch (_) { /* not started yet */ }
    }
    st.sources.clear();
    st.nextTime = 0;
    st.scheduledS = 0;
    st.segments = [];
    highlight(-1);
  }

  // ---- words --------------------------------------------------------------------------------

  function addWords(words) {
    for (const w of words) {
      const span = document.createElement("span");
      span.textContent = w.word;
      span.dataset.start = w.start;
      ui.words.append(span, " ");
      st.words.push({ start: w.start, end: w.end, span });
    }
  }

  function highlight(idx) {
    if (idx === st.current) return;
    if (st.current >= 0 && st.words[st.current]) {
      st.words[st.current].span.classList.replace("current", "spoken");
    }
    st.current = idx;
    if (idx >= 0) {
      const span = st.words[idx].span;
      span.classList.add("current");
      if (!span.dataset.seen) { span.dataset.seen = "1"; st.counts.wordsHighlighted += 1; publish(); }
    }
  }

  // ---- the animation loop: waveform + playhead ----------------------------------------------

  function draw() {
    const g = ui.wave.getContext("2d"), w = ui.wave.width, h = ui.wave.height;
    g.fillStyle = "#101722";
    g.fillRect(0, 0, w, h);
    g.strokeStyle = "#2b3646";
    g.beginPath(); g.moveTo(0, h / 2); g.lineTo(w, h / 2); g.stroke();
    if (st.analyser && st.sources.size) {
      const data = new Float32Array(st.analyser.fftSize);
      st.analyser.getFloatTimeDomainData(data);
      g.strokeStyle = "#7fb2ff";
      g.lineWidth = 1.5;
      g.beginPath();
      for (let i = 0; i < data.length; i++) {
        const x = (i / (data.length - 1)) * w;
        const y = h / 2 - Math.max(-1, Math.min(1, data[i])) * (h / 2 - 4);
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      }
      g.stroke();
      const pos = audioPosition(st.segments, st.audio.currentTime, st.scheduledS);
      highlight(wordAt(st.words, pos, st.scheduledS));
      st.counts.framesDrawn += 1;
      if (st.counts.framesDrawn % 10 === 0) publish();
    }
    requestAnimationFrame(draw);
  }

  // ---- buttons ------------------------------------------------------------------------------

  async function speak() {
    clearError();
    stop();
    ui.words.replaceChildren();
    st.words = []; st.current = -1;
    Object.keys(st.counts).forEach((k) => { st.counts[k] = 0; });
    publish();
    ui.ttfa.textContent = ui.serverTtfa.textContent = ui.audioLen.textContent = "–";
    delete ui.player.dataset.ttfaMs;
    delete ui.player.dataset.serverTtfaMs;
    const ctx = { id: `pg-${++st.seq}`, live: true, stopped: false, sentAt: 0, firstAt: null };
    st.ctx = ctx;
    setState("connecting", "connecting…");
    let ws;
    try {
      await ensureAudio();
      ws = await connect();
    } catch (e) {
      ctx.live = false;
      showError(`could not open the stream: ${e.message}`);
      setState("error");
      return;
    }
    if (st.ctx !== ctx) return; // Speak pressed again meanwhile
    // ask for the AudioContext's rate when the server offers it; else the voice's, resampled here
    const rate = WS_RATES.includes(st.audio.sampleRate) ? st.audio.sampleRate : st.voiceRate;
    ctx.sentAt = performance.now();
    ws.send(JSON.stringify({
      type: "speak", context_id: ctx.id, text: ui.text.value, voice: voiceSpec(),
      speed: Number(ui.speed.value), add_timestamps: true,
      output_format: { container: "raw", encoding: "pcm_f32le", sample_rate: rate },
    }));
    setState("streaming", "streaming…");
  }

  function stop() {
    const ctx = st.ctx;
    if (ctx && !ctx.stopped) {
      ctx.stopped = true;
      if (ctx.live && st.ws && st.ws.readyState === WebSocket.OPEN) {
        st.ws.send(JSON.stringify({ type: "cancel", context_id: ctx.id }));
      }
    }
    stopAudio();
    if (ctx) setState(ctx.live ? "stopping" : ui.player.dataset.state, ctx.live ? "stopping…" : undefined);
  }

  ui.speak.addEventListener("click", speak);
  ui.stop.addEventListener("click", stop);
  ui.voice.addEventListener("change", syncSliders);
  ui.voice2.addEventListener("change", syncSliders);
  ui.mix.addEventListener("input", syncSliders);
  ui.speed.addEventListener("input", syncSliders);
  // Enter in a field would submit the form: nothing to submit, the buttons do the work
  $("settings").addEventListener("submit", (e) => e.preventDefault());
  ui.key.addEventListener("change", () => { dropConnection(); loadVoices(); });
  ui.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) speak();
  });

  syncSliders();
  publish();
  loadVoices();
  requestAnimationFrame(draw);
})();
