// Runs the firmware core on the MicroPython WebAssembly port (Node >= 20):
//   node tests/wasm/run_cases.mjs <repo> [heap bytes]
// Copies firmware/ (the .py sources) and build/mpylib (chumicro's .mpy) into
// the port's in-memory filesystem, runs tests/firmware_core/portable_cases.py,
// imports every firmware core module, and prints the cases' lines, then
//   RESULT\t{"imports": {...}, "heap_before": N, "heap_after_cases": N,
//            "heap_after": N, "socket": "...", "error": null}
// Cases run first, then the imports: the harness itself (printing JSON) needs
// heap too, and the point is that each part fits a Pico-sized heap.
// heapsize is only the *initial* heap of this port: it grows by adding split
// heap areas when a collection cannot free enough. heap_after == heap_before
// therefore proves the whole run fitted in the initial heap.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const repo = path.resolve(process.argv[2] || ".");
const heap = parseInt(process.argv[3] || String(128 * 1024), 10);
const require = createRequire(path.join(repo, "package.json"));
const pkg = path.dirname(require.resolve("@micropython/micropython-webassembly-pyscript/package.json"));
const { loadMicroPython } = await import(path.join(pkg, "micropython.mjs"));

const lines = [];
const mp = await loadMicroPython({
  heapsize: heap,
  stdout: (line) => lines.push(line),
  stderr: (line) => lines.push("STDERR " + line),
});

function copyTree(src, dst, keep) {
  mp.FS.mkdirTree(dst);
  for (const name of fs.readdirSync(src).sort()) {
    const s = path.join(src, name);
    if (fs.statSync(s).isDirectory()) {
      if (name !== "__pycache__") copyTree(s, dst + "/" + name, keep);
    } else if (keep(name)) {
      mp.FS.writeFile(dst + "/" + name, fs.readFileSync(s));
    }
  }
}

copyTree(path.join(repo, "firmware"), "/app/firmware", (n) => n.endsWith(".py"));
for (const name of ["portable_cases.py", "scratch.py"]) {
  mp.FS.writeFile("/app/" + name, fs.readFileSync(path.join(repo, "tests", "firmware_core", name)));
}
const mpylib = path.join(repo, "build", "mpylib");
if (fs.existsSync(mpylib)) copyTree(mpylib, "/lib", (n) => n.endsWith(".mpy"));

function heapTotal() {
  lines.length = 0;
  mp.runPython("import micropython; micropython.mem_info()");
  const line = lines.find((l) => l.startsWith("GC: total:"));
  return parseInt(line.split(":")[2], 10);
}

mp.runPython("import sys; sys.path.insert(0, '/app')");
const heapBefore = heapTotal();
lines.length = 0;
let error = null;
try {
  mp.runPython("import gc, portable_cases; gc.collect(); portable_cases.main('/tmp/journal')");
} catch (e) {
  error = String(e.message || e);
}
const output = lines.slice();
// mqtt_link imports (chumicro opens sockets lazily), but this port has no
// socket module, so a kiosk cannot connect from here: recorded, not tested.
let socket = "ok";
try { mp.runPython("import socket"); } catch (e) { socket = String(e.message || e).trim().split("\n").pop(); }
const heapCases = heapTotal();
const modules = fs.readdirSync(path.join(repo, "firmware", "core"))
  .filter((n) => n.endsWith(".py") && n !== "__init__.py").map((n) => n.slice(0, -3)).sort();
const imports = {};
for (const m of modules) {
  lines.length = 0;
  try {
    mp.runPython(`import gc; import firmware.core.${m}; gc.collect()`);
    imports[m] = "ok";
  } catch (e) {
    imports[m] = String(e.message || e).trim().split("\n").pop();
  }
}

const heapAfter = heapTotal();
for (const l of output) console.log(l);
console.log("RESULT\t" + JSON.stringify({ imports, heap_before: heapBefore, heap_after_cases: heapCases, heap_after: heapAfter, socket, error }));
