// Browser end-to-end test of the demo page: two players in real Chromium
// (Debian's package, driven by playwright-core) against a real tickroom
// server. Run by web/e2e_test.go (TestBrowserE2E), which starts the server
// and sets:
//
//   TICKROOM_URL  the server's base URL (it also serves GET /test/replica)
//   E2E_OUT       folder for the screenshot
//   CHROMIUM      the browser binary (default /usr/bin/chromium)
//
// Every wait is bounded; a failure exits 1 with the reason.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.TICKROOM_URL;
const out = process.env.E2E_OUT || ".";
if (!url) {
  console.error("TICKROOM_URL is not set");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const started = performance.now();
const WAIT = 10000; // ms, the bound of every wait

/** @param {boolean} ok @param {string} msg */
function check(ok, msg) {
  if (!ok) throw new Error(`check failed: ${msg}`);
  console.log(`ok: ${msg}`);
}

// The probe's flags (/work/.library/env/machines/go.md): without the
// background-networking ones Chromium dials Google's hosts, which the
// sandbox refuses. launch() gives every run a new empty profile (it does
// not accept --user-data-dir; it makes a temporary one itself).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: 30000,
});

/** @type {string[]} */
const pageErrors = [];

/** Opens the page in its own context (own storage) and plays as name. */
async function player(name) {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`${name} console: ${m.text()}`);
  });
  const resp = await page.goto(url + "/", { timeout: WAIT });
  check(resp?.status() === 200, `${name}: GET / is 200`);
  await page.fill("#name", name);
  await page.click("#play");
  await page.waitForFunction(() => {
    const i = window.__tickroom.info();
    return i.connectionState === "connected" && i.ownEntity > 0;
  }, null, { timeout: WAIT });
  return page;
}

const info = (page) => page.evaluate(() => window.__tickroom.info());

/** The server's checksum of room at tick (the Go test's endpoint). */
async function serverChecksum(room, tick) {
  const r = await fetch(`${url}/test/replica?room=${encodeURIComponent(room)}&tick=${tick}`);
  if (!r.ok) throw new Error(`/test/replica: ${r.status}`);
  return r.json();
}

/** The replica of page matches the server at its tick. */
async function checkReplica(page, who) {
  const i = await info(page);
  const s = await serverChecksum(i.room, i.tick);
  check(s.found, `${who}: tick ${i.tick} is in the server's history (server at ${s.server_tick})`);
  check(i.checksum === s.checksum, `${who}: replica checksum ${i.checksum} at tick ${i.tick} equals the server's ${s.checksum}`);
}

try {
  const ada = await player("Ada");
  const bob = await player("Bob");
  let a = await info(ada);
  let b = await info(bob);
  check(a.room !== "" && a.room === b.room, `both joined the same room through matchmaking (${a.room})`);
  check(a.playerId !== b.playerId, "two different guest players");

  // Each sees the other's avatar drawn.
  await bob.waitForFunction((e) => e in window.__tickroom.info().rendered, a.ownEntity, { timeout: WAIT });
  await ada.waitForFunction((e) => e in window.__tickroom.info().rendered, b.ownEntity, { timeout: WAIT });
  a = await info(ada); // now holding both avatars

  // Ada moves (arrow keys, held) away from Bob, so the screenshot shows
  // both; Bob's canvas shows her avatar moving.
  const me = a.players.find((p) => p.entity === a.ownEntity);
  const him = a.players.find((p) => p.entity === b.ownEntity);
  const dirs = [
    { key: "ArrowLeft", axis: "x", sign: -1 },
    { key: "ArrowRight", axis: "x", sign: 1 },
    { key: "ArrowUp", axis: "y", sign: -1 },
    { key: "ArrowDown", axis: "y", sign: 1 },
  ]
    .map((d) => {
      const room = d.sign > 0 ? 1000 - me[d.axis] : me[d.axis];
      const to = { ...me, [d.axis]: me[d.axis] + d.sign * Math.min(room, 150) };
      return { ...d, room, away: Math.hypot(to.x - him.x, to.y - him.y) };
    })
    .filter((d) => d.room >= 100)
    .sort((p, q) => q.away - p.away);
  const { key, axis, sign } = dirs[0];
  const bobSawAt = (await info(bob)).rendered[a.ownEntity][axis];
  await ada.focus("#arena");
  await ada.keyboard.down(key);
  await bob.waitForFunction(
    ([e, axis, v0, sign]) => (window.__tickroom.info().rendered[e][axis] - v0) * sign >= 80,
    [a.ownEntity, axis, bobSawAt, sign],
    { timeout: WAIT },
  );
  // While she moves, Bob's canvas draws her smoothly: sampled every
  // animation frame, her position never steps back (interpolation between
  // ticks, no jitter from the frames' arrival times).
  const samples = await bob.evaluate(
    ([e, axis]) =>
      new Promise((resolve) => {
        const v = [];
        const frame = () => {
          v.push(window.__tickroom.info().rendered[e][axis]);
          if (v.length < 40) requestAnimationFrame(frame);
          else resolve(v);
        };
        requestAnimationFrame(frame);
      }),
    [a.ownEntity, axis],
  );
  await ada.keyboard.up(key);
  const backSteps = samples.filter((v, i) => i > 0 && (v - samples[i - 1]) * sign < -0.01).length;
  check(backSteps === 0, `Bob's view of Ada never steps back over ${samples.length} animation frames (${samples[0].toFixed(1)} → ${samples.at(-1).toFixed(1)})`);
  check((samples.at(-1) - samples[0]) * sign > 0, "and moves on during them");
  const bobNow = (await info(bob)).rendered[a.ownEntity][axis];
  check((bobNow - bobSawAt) * sign >= 80, `Bob's canvas shows Ada moving (${key}: ${axis} ${bobSawAt.toFixed(1)} → ${bobNow.toFixed(1)})`);
  // Once she stops, her predicted avatar settles on the server's position.
  await ada.waitForFunction(
    ([e, axis]) => {
      const i = window.__tickroom.info();
      const p = i.players.find((p) => p.entity === e);
      return Math.abs(i.rendered[e][axis] - p[axis]) < 1;
    },
    [a.ownEntity, axis],
    { timeout: WAIT },
  );
  a = await info(ada);
  const adaServer = a.players.find((p) => p.entity === a.ownEntity)[axis];
  check((adaServer - me[axis]) * sign >= 80, `the server moved Ada's avatar (${axis} ${me[axis]} → ${adaServer})`);
  check(true, `Ada's predicted avatar settled on the server's position (${a.rendered[a.ownEntity][axis].toFixed(1)})`);
  await checkReplica(ada, "Ada");
  await checkReplica(bob, "Bob");

  // A screenshot of the arena with both players.
  await bob.waitForFunction((e) => e in window.__tickroom.info().rendered, a.ownEntity, { timeout: WAIT });
  const shot = join(out, "arena.png");
  await ada.locator("#arena").screenshot({ path: shot });
  await ada.screenshot({ path: join(out, "page.png") });
  console.log(`screenshot: ${shot} (whole page: ${join(out, "page.png")})`);

  // "Drop connection": the socket dies; the page resumes the same seat.
  await ada.evaluate(() => {
    window.__states = [];
    window.__tickroom.client.on("state", (s) => window.__states.push(s));
  });
  const before = await info(ada);
  await ada.click("#drop");
  await ada.waitForFunction(() => {
    const i = window.__tickroom.info();
    return i.resumes >= 1 && i.connectionState === "connected";
  }, null, { timeout: WAIT });
  const states = await ada.evaluate(() => window.__states);
  check(states[0] === "reconnecting" && states.at(-1) === "connected", `connection states ${states.join(" → ")}`);
  const after = await info(ada);
  check(after.playerId === before.playerId, `same player ID after the resume (${after.playerId})`);
  check(after.room === before.room && after.ownEntity === before.ownEntity, `same seat: room ${after.room}, avatar entity ${after.ownEntity}`);
  check(after.tick > before.tick, `the replica moved on (tick ${before.tick} → ${after.tick})`);
  await checkReplica(ada, "Ada after the resume");
  await ada.waitForFunction(() => document.getElementById("resumes").textContent === "1", null, { timeout: WAIT });
  check(true, "the HUD counts 1 resume");
  // Bob still sees Ada (her seat was held through the drop).
  b = await info(bob);
  check(b.players.some((p) => p.entity === after.ownEntity), "Bob's replica still holds Ada's avatar");
  check(after.desyncs === 0 && b.desyncs === 0, "no desync on either page");
  check(pageErrors.length === 0, `no page errors${pageErrors.length ? ": " + pageErrors.join("; ") : ""}`);
  console.log(`e2e passed in ${Math.round(performance.now() - started)} ms`);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
