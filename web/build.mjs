// Builds the demo page into dist/ (committed, embedded by web.go):
//
//   node build.mjs             build dist/
//   node build.mjs --if-stale  build only if the sources changed since dist/ was built
//                              (npm ci first when node_modules is missing): make build
//   node build.mjs --check     build into a temporary folder and exit 1 if dist/ differs
//
// dist/index.html is demo/index.html with the bundle's content-hashed name;
// dist/assets/ holds the bundle (demo/ + client/ + @msgpack/msgpack,
// minified); dist/BUILD.json records the SHA-256 of the sources (the same
// hash web/dist_test.go computes in Go, so `go test` notices a stale bundle
// without npm) and the sizes.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { execSync } from "node:child_process";

const root = fileURLToPath(new URL(".", import.meta.url));

/** The sources of the bundle, as paths relative to web/, sorted. */
export function sources() {
  const out = ["build.mjs", "package.json", "package-lock.json"];
  const walk = (dir) => {
    for (const name of readdirSync(join(root, dir))) {
      const p = join(dir, name);
      if (statSync(join(root, p)).isDirectory()) {
        if (name !== "test" && name !== "node_modules") walk(p);
      } else if (/\.(js|mjs|html|css|json)$/.test(name)) out.push(p);
    }
  };
  walk("demo");
  walk("client");
  return out.map((p) => p.split("\\").join("/")).sort();
}

/** SHA-256 over each source's path, a NUL, its bytes and a NUL. */
export function sourcesHash() {
  const h = createHash("sha256");
  for (const p of sources()) {
    h.update(p + "\0");
    h.update(readFileSync(join(root, p)));
    h.update("\0");
  }
  return h.digest("hex");
}

async function build(out) {
  const esbuild = await import("esbuild"); // not needed by --if-stale when up to date
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "assets"), { recursive: true });
  const common = { bundle: true, format: "esm", target: "es2020", minify: true, legalComments: "none", logLevel: "warning", absWorkingDir: root };
  const res = await esbuild.build({
    ...common,
    entryPoints: { app: "demo/main.js" },
    outdir: join(out, "assets"),
    entryNames: "[name]-[hash]",
    metafile: true,
    write: true,
  });
  const app = Object.keys(res.metafile.outputs).find((p) => p.endsWith(".js"));
  const appName = relative(join(out, "assets"), join(root, app)).split("\\").join("/");
  const html = readFileSync(join(root, "demo/index.html"), "utf8").replace("%APP_JS%", `/assets/${appName}`);
  writeFileSync(join(out, "index.html"), html);

  // The SDK alone, as a game would bundle it: its minified + gzipped size.
  const sdk = await esbuild.build({ ...common, entryPoints: ["client/src/index.js"], write: false });
  const sdkMin = sdk.outputFiles[0].contents;
  const appBytes = readFileSync(join(out, "assets", appName));
  const info = {
    comment: "Written by web/build.mjs (make web). web/dist_test.go checks sources_sha256 against the sources.",
    sources_sha256: sourcesHash(),
    esbuild: esbuild.version,
    app: `assets/${appName}`,
    app_bytes: appBytes.length,
    app_gzip_bytes: gzipSync(appBytes, { level: 9 }).length,
    sdk_min_bytes: sdkMin.length,
    sdk_min_gzip_bytes: gzipSync(sdkMin, { level: 9 }).length,
  };
  writeFileSync(join(out, "BUILD.json"), JSON.stringify(info, null, 2) + "\n");
  return info;
}

/** Every file under dir, relative, with its bytes. */
function tree(dir) {
  const m = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else m.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return m;
}

const dist = join(root, "dist");
if (process.argv.includes("--if-stale")) {
  let built = "";
  try {
    built = JSON.parse(readFileSync(join(dist, "BUILD.json"), "utf8")).sources_sha256;
  } catch {
    // no build yet
  }
  if (built === sourcesHash()) {
    console.log("web/dist is up to date");
    process.exit(0);
  }
  try {
    statSync(join(root, "node_modules", "esbuild"));
  } catch {
    console.log("web: npm ci");
    execSync("npm ci --no-audit --no-fund", { cwd: root, stdio: "inherit" });
  }
}
if (process.argv.includes("--check")) {
  const tmp = mkdtempSync(join(tmpdir(), "tickroom-web-"));
  try {
    await build(tmp);
    const want = tree(tmp);
    const got = tree(dist);
    const diff = [...new Set([...want.keys(), ...got.keys()])].filter((k) => !want.get(k)?.equals(got.get(k) ?? Buffer.alloc(0)) || !got.has(k));
    if (diff.length > 0) {
      console.error(`web/dist is out of date with its sources (${diff.join(", ")}): run make web`);
      process.exit(1);
    }
    console.log("web/dist is up to date");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else {
  const info = await build(dist);
  console.log(`web/dist: ${info.app} ${info.app_bytes} B (${info.app_gzip_bytes} B gzipped); SDK ${info.sdk_min_bytes} B minified, ${info.sdk_min_gzip_bytes} B gzipped`);
}
