// The demo page: join an arena room through matchmaking and play it on a
// canvas, with the JS client SDK.
import { Client } from "@tickroom/client";
import { direction, Interpolator, PickupRadius, Predictor, Size } from "./game.js";

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const canvas = /** @type {HTMLCanvasElement} */ ($("arena"));
const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
const nameInput = /** @type {HTMLInputElement} */ ($("name"));
const dropButton = /** @type {HTMLButtonElement} */ ($("drop"));

/** The interpolation delay of remote players, ms (2 ticks at 20 Hz). */
const InterpDelay = 100;

/** @type {Client | null} */
let client = null;
let ownEntity = 0; // the own avatar's entity id, once seen
const keys = new Set();
const predictor = new Predictor();
/** @type {Interpolator | null} */
let interp = null;
/** @type {Map<number, {x: number, y: number}>} */
let rendered = new Map();
let lastDraw = performance.now();
let lastBytes = 0;
let bytesPerSec = 0;
let inputTimer = 0;
/** @type {string[]} */
const log = [];

nameInput.value = localStorage.getItem("tickroom.name") || `guest-${Math.floor(Math.random() * 1000)}`;

/** @param {string} s */
function note(s) {
  log.unshift(s);
  log.length = Math.min(log.length, 5);
  $("log").textContent = log.join("\n");
  $("log").style.whiteSpace = "pre-line";
}

$("join-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const play = /** @type {HTMLButtonElement} */ ($("play"));
  play.disabled = true;
  const name = nameInput.value.trim().slice(0, 32) || "guest";
  localStorage.setItem("tickroom.name", name);
  try {
    await start(name);
    $("join").hidden = true;
    canvas.focus();
  } catch (e) {
    note(`join failed: ${/** @type {Error} */ (e).message}`);
    play.disabled = false;
    client?.close();
    client = null;
  }
});

dropButton.addEventListener("click", () => {
  client?.drop();
  canvas.focus();
});

/** @param {string} name */
async function start(name) {
  const c = new Client({ url: location.origin, name });
  client = c;
  c.on("state", (/** @type {string} */ s) => {
    $("state").textContent = s;
    $("state").dataset.state = s;
    dropButton.disabled = s !== "connected";
  });
  c.on("frame", onFrame);
  c.on("event", (/** @type {any} */ e) => {
    if (e.name === "pickup") note(`${e.payload.player === c.playerId ? "you" : playerName(e.payload.player)} +${e.payload.value}`);
  });
  c.on("disconnected", (/** @type {Error} */ e) => note(`disconnected: ${e.message}`));
  c.on("reconnecting", (/** @type {any} */ r) => note(`reconnecting (attempt ${r.attempt}, ${r.delay} ms)`));
  c.on("resumed", (/** @type {any} */ r) => {
    predictor.reset();
    const via = r.redirects ? ` via ${r.redirects} redirect${r.redirects > 1 ? "s" : ""}` : "";
    note(`resumed in ${r.duration} ms by ${r.snapshot ? "a snapshot" : "a delta"}${via}${r.recovered ? "" : " (events lost)"}`);
  });
  c.on("lost", (/** @type {Error} */ e) => {
    note(`lost: ${e.message} — reload to play again`);
    clearInterval(inputTimer);
  });
  c.on("desync", (/** @type {Error} */ e) => note(`desync: ${e.message}`));
  await c.connect();
  const info = await c.quickJoin("arena");
  $("room").textContent = info.roomId;
  const tickMs = 1000 / (info.tickRate || 20);
  interp = new Interpolator(tickMs, InterpDelay);
  onFrame({ tick: c.tick, inputSeq: c.inputSeq, state: c.state });
  inputTimer = window.setInterval(sendInput, tickMs);
  setInterval(hud, 1000);
  pingLoop(c);
}

/** @param {string} pid */
function playerName(pid) {
  const e = client?.state?.entities.find((x) => x.kind === 0 && x.values[0] === pid);
  return e ? String(e.values[1]) : pid;
}

/** One input per tick while connected: it carries the ack too. */
function sendInput() {
  const c = client;
  if (!c || !c.room || c.connectionState !== "connected" || !ownEntity) return;
  const [dx, dy] = direction(keys);
  const seq = c.sendInput([dx, dy]);
  predictor.input(seq, dx, dy);
}

/** @param {any} f */
function onFrame(f) {
  const c = client;
  if (!c || !f.state) return;
  const st = f.state;
  /** @type {Map<number, {x: number, y: number}>} */
  const pos = new Map();
  for (const e of st.entities) {
    if (e.kind !== 0) continue;
    if (e.values[0] === c.playerId) {
      ownEntity = e.id;
      predictor.reconcile(Number(e.values[2]), Number(e.values[3]), f.inputSeq);
      continue;
    }
    pos.set(e.id, { x: Number(e.values[2]), y: Number(e.values[3]) });
  }
  interp?.push(f.tick, performance.now(), pos);
}

/** @param {Client} c */
async function pingLoop(c) {
  while (client === c && c.connectionState !== "lost" && c.connectionState !== "closed") {
    if (c.connectionState === "connected") {
      try {
        $("ping").textContent = `${Math.round(await c.ping())} ms`;
      } catch {
        $("ping").textContent = "–";
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function hud() {
  const c = client;
  if (!c) return;
  bytesPerSec = c.stats.bytesReceived - lastBytes;
  lastBytes = c.stats.bytesReceived;
  $("bps").textContent = `${(bytesPerSec / 1024).toFixed(1)} KiB/s`;
  $("resumes").textContent = String(c.stats.resumes);
  const players = c.state?.objects("player") ?? [];
  const list = players
    .map((p) => ({ name: String(p.name), score: Number(p.score), own: p.id === ownEntity }))
    .sort((a, b) => b.score - a.score);
  $("scores").replaceChildren(
    ...list.map((p) => {
      const li = document.createElement("li");
      li.textContent = `${p.name}${p.own ? " (you)" : ""}: ${p.score}`;
      return li;
    }),
  );
}

/** @param {number} id */
function color(id) {
  return `hsl(${(id * 137.5) % 360} 70% 60%)`;
}

function draw() {
  const now = performance.now();
  const dt = now - lastDraw;
  lastDraw = now;
  const c = client;
  if (c) $("tick").textContent = c.tick ? String(c.tick) : "–";
  const w = canvas.width;
  const pad = 30; // arena units around the field, so avatars at the edge show whole
  const s = w / (Size + 2 * pad);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#06080e";
  ctx.fillRect(0, 0, w, w);
  ctx.translate(pad * s, pad * s);
  ctx.fillStyle = "#0b0f18";
  ctx.fillRect(0, 0, Size * s, Size * s);
  ctx.strokeStyle = "#1b2438";
  ctx.lineWidth = 1;
  for (let g = 0; g <= Size; g += 100) {
    ctx.beginPath();
    ctx.moveTo(g * s, 0);
    ctx.lineTo(g * s, Size * s);
    ctx.moveTo(0, g * s);
    ctx.lineTo(Size * s, g * s);
    ctx.stroke();
  }
  const st = c?.state;
  if (st && interp) {
    for (const e of st.entities) {
      if (e.kind !== 1) continue;
      ctx.fillStyle = "#ffcc4d";
      ctx.beginPath();
      ctx.arc(Number(e.values[0]) * s, Number(e.values[1]) * s, PickupRadius * s * 0.6, 0, Math.PI * 2);
      ctx.fill();
    }
    rendered = new Map(interp.sample(now));
    if (ownEntity && !Number.isNaN(predictor.x)) rendered.set(ownEntity, predictor.display(dt));
    ctx.font = `${Math.round(13 * (w / 800))}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    for (const [id, p] of rendered) {
      const e = st.get(id);
      if (!e) continue;
      ctx.fillStyle = color(id);
      ctx.beginPath();
      ctx.arc(p.x * s, p.y * s, 12 * s * 1.2, 0, Math.PI * 2);
      ctx.fill();
      if (id === ownEntity) {
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = 3;
        ctx.stroke();
      }
      ctx.fillStyle = "#e6ebf5";
      ctx.fillText(`${e.values[1]} ${e.values[5]}`, p.x * s, p.y * s - 20 * s);
    }
  }
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);

const gameKeys = new Set(["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);
window.addEventListener("keydown", (e) => {
  if (!gameKeys.has(e.code) || e.target === nameInput) return;
  keys.add(e.code);
  e.preventDefault();
});
window.addEventListener("keyup", (e) => keys.delete(e.code));
window.addEventListener("blur", () => keys.clear());

// A test hook: what the browser end-to-end test (web/e2e) reads. Plain
// data only; the client object is there for poking around in devtools.
Object.defineProperty(window, "__tickroom", {
  value: {
    get client() {
      return client;
    },
    info() {
      const c = client;
      const st = c?.state;
      return {
        connectionState: c?.connectionState ?? "idle",
        playerId: c?.playerId ?? "",
        room: c?.room ?? "",
        tick: st?.tick ?? 0,
        checksum: st?.checksum ?? 0,
        ownEntity,
        resumes: c?.stats.resumes ?? 0,
        desyncs: c?.stats.desyncs ?? 0,
        stats: c ? { ...c.stats } : null,
        players: st ? st.entities.filter((e) => e.kind === 0).map((e) => ({ entity: e.id, playerId: e.values[0], name: e.values[1], x: Number(e.values[2]), y: Number(e.values[3]) })) : [],
        rendered: Object.fromEntries([...rendered].map(([id, p]) => [id, { x: p.x, y: p.y }])),
      };
    },
  },
});
