// Compiled by TestJSClientTypes (tsc --noEmit): the shipped index.d.ts
// describes the API a TypeScript game uses.
import { Client, RedirectError, State, backoffDelay, isTerminalClose, codec, type ConnectionState, type FrameInfo, type Matched } from "@tickroom/client";

const c = new Client({ url: "http://127.0.0.1:8080", name: "Ada", reconnect: { window: 10_000 } });
const off: () => void = c.on("frame", (f: FrameInfo) => {
  const s: State = f.state;
  const x: number | bigint | string | undefined = s.get(1)?.values[2];
  void x;
  void s.objects("player");
});
c.on("state", (s: ConnectionState) => void s);
c.on("resumed", (r) => void (r.recovered && r.snapshot && r.redirects));
c.on("matched", (m: Matched) => void (m.wsUrl !== "" && c.moveTo(m.wsUrl)));
c.setUrl("wss://lb.example.com");
c.on("lost", (e) => void e.message);
async function play(): Promise<void> {
  await c.connect();
  const j = await c.quickJoin("arena");
  await c.joinSeat("seat").catch((e: unknown) => {
    if (e instanceof RedirectError) void [e.wsUrl, e.ref];
  });
  const seq: number = c.sendInput([1, 0]);
  void [j.roomId, j.tickRate, seq, c.stats.resumes, c.stats.redirects, c.state?.checksum];
  const rtt: number = await c.ping();
  void rtt;
  await c.leave();
}
void play;
void off;
void backoffDelay(2);
void isTerminalClose(4509);
void codec.decodeServer(codec.encodePing());
