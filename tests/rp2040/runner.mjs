// Emulated RP2040 (rp2040js) running the MicroPython rp2 firmware, for the
// Pico kiosk tests (tests/rp2040/, docs/rp2040-emulation.md).
//
//   node runner.mjs CONFIG.json
//
// CONFIG: {bootrom, firmware, flash_in, flash_out, spi, cs_pin, watch_pins,
//          cut_at_cycle, max_cycles, flash_timing, display: {i2c, addr},
//          w5500: {spi, cs_pin, ip_map}}
// The REPL (USB CDC) is served on a TCP port of 127.0.0.1; pyserial's
// socket:// URL opens it, so mpremote's SerialTransport drives the raw REPL
// exactly as it does over a real USB cable.
// Control: one JSON command per line on stdin; events: one JSON object per
// line on stdout. Emulated time is the clock of the chip (ns); a "cycle" is
// 8 ns (125 MHz), counted whether the core executes or sleeps.
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { RP2040, USBCDC, ConsoleLogger, LogLevel } from 'rp2040js';
import { MFRC522, Card } from './mfrc522.mjs';
import { SSD1306 } from './ssd1306.mjs';
import { W5500 } from './w5500.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const NS_PER_CYCLE = 8;
const FLASH_SIZE = 2 * 1024 * 1024;
const bootrom = new Uint32Array(new Uint8Array(fs.readFileSync(cfg.bootrom)).buffer);
// Flash: the firmware at 0, then whatever the image holds (littlefs at 0xA0000).
const flash = new Uint8Array(FLASH_SIZE).fill(0xff);
if (cfg.flash_in) flash.set(fs.readFileSync(cfg.flash_in).subarray(0, FLASH_SIZE));
if (cfg.firmware) flash.set(fs.readFileSync(cfg.firmware), 0);
// W25Q16JV typical times: what a power cut can interrupt
const T = Object.assign({ erase_sector_ns: 45e6, program_page_ns: 0.4e6 }, cfg.flash_timing || {});

const emit = (ev) => process.stdout.write(JSON.stringify(ev) + '\n');

let mcu, cdc, reader, display, w5500, nowNs = 0, baseNs = 0;
const queue = []; // {at: ns, fn}: emulated-time events (reader, scenario)
const schedule = (delayNs, fn) => {
  const at = now() + delayNs;
  let i = queue.length;
  while (i > 0 && queue[i - 1].at > at) i--;
  queue.splice(i, 0, { at, fn });
};
const now = () => baseNs + mcu.clock.nanos; // survives watchdog resets
const cycle = () => Math.floor(now() / NS_PER_CYCLE);
let cutAt = cfg.cut_at_cycle != null ? cfg.cut_at_cycle * NS_PER_CYCLE : Infinity;
const maxNs = cfg.max_cycles != null ? cfg.max_cycles * NS_PER_CYCLE : Infinity;
let hostTx = []; // bytes from the host waiting for room in the CDC FIFO
let client = null;
const stats = { flash_erases: 0, flash_programs: 0, watchdog_resets: 0 };
// cut_at_flash_op: lose power inside the Nth flash operation (sector erase or
// page program, counted from power-on), at a random point of it
let cutOp = cfg.cut_at_flash_op ?? -1;
let flashOps = 0;
// torn operations are random, from a seed (cfg.seed) so a failure replays
let seed = (cfg.seed ?? 1) >>> 0;
const random = () => { // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

// -- power: write the flash as it is and stop -----------------------------------
function powerOff(reason, extra = {}) {
  if (cfg.flash_out) fs.writeFileSync(cfg.flash_out, flash);
  emit({ ev: 'off', reason, cycle: cycle(), t_ns: now(), ...stats, ...extra });
  process.exit(0);
}

// -- the bootrom's flash functions, done on the flash array ---------------------
function romFunctions() {
  const rd16 = (a) => bootrom[a >> 2] >>> ((a & 2) * 8) & 0xffff;
  const table = rd16(0x14);
  const fns = {};
  for (let p = table; ; p += 4) {
    const code = rd16(p);
    if (!code) break;
    fns[String.fromCharCode(code & 0xff, code >> 8)] = rd16(p + 2) & ~1;
  }
  return fns;
}
const rom = romFunctions();
const hooks = new Map();
for (const c of ['IF', 'EX', 'FC', 'CX']) hooks.set(rom[c], () => {}); // no QSPI to talk to
hooks.set(rom.RE, (r) => { // flash_range_erase(offset, count, block_size, block_cmd)
  const [off, count] = [r[0], r[1]];
  for (let a = off; a < off + count; a += 4096) {
    stats.flash_erases++;
    if (++flashOps === cutOp || tornBy(T.erase_sector_ns)) {
      // cut mid-erase: the sector holds a mix of erased and old bytes
      for (let i = a; i < a + 4096; i++) if (random() < 0.5) flash[i] = 0xff;
      powerOff('cut', { during: 'erase', offset: a });
    }
    flash.fill(0xff, a, a + 4096);
  }
});
hooks.set(rom.RP, (r) => { // flash_range_program(offset, data, count): bits only go 1 -> 0
  const [off, data, count] = [r[0], r[1], r[2]];
  for (let p = 0; p < count; p += 256) {
    stats.flash_programs++;
    const n = Math.min(256, count - p);
    const torn = ++flashOps === cutOp || tornBy(T.program_page_ns);
    const upto = torn ? Math.floor(random() * n) : n;
    for (let i = 0; i < upto; i++) flash[off + p + i] &= mcu.readUint8(data + p + i);
    if (torn) powerOff('cut', { during: 'program', offset: off + p });
  }
});
// Advance the clock by a flash operation's duration; true if the power cut falls inside it.
function tornBy(ns) {
  if (now() + ns >= cutAt) return true;
  mcu.clock.tick(ns);
  return false;
}

// -- one chip: a fresh RP2040 on the same flash (power-on or watchdog reset) -----
function boot() {
  if (mcu) baseNs += mcu.clock.nanos;
  mcu = new RP2040();
  mcu.logger = new ConsoleLogger(LogLevel.Error);
  mcu.loadBootrom(bootrom);
  mcu.flash.set(flash); // rp2040js reads the flash from its own array: keep ours in step
  // Share one buffer: writes through our hooks are seen by XIP reads.
  mcu.flash = flash;
  mcu.flash16 = new Uint16Array(flash.buffer);
  mcu.flashView = new DataView(flash.buffer);
  mcu.core.PC = 0x10000000;

  // rp2040js raises the UART TX interrupt on every register access, which
  // locks machine.UART() in its IRQ handler: raise it only on a data write.
  for (const u of mcu.uart) {
    u.checkInterrupts = function () { this.rp2040.setInterrupt(this.irq, !!(this.interruptStatus & this.interruptMask)); };
    const write = u.writeUint32.bind(u);
    u.writeUint32 = (off, v) => { if (off === 0) u.interruptStatus |= 1 << 5; write(off, v); if (off === 0) u.checkInterrupts(); };
  }

  // Watchdog: a reset reboots the chip from the flash as it is.
  const wd = mcu.peripherals[0x40058];
  if (wd) wd.onWatchdogTrigger = () => {
    if (pendingReset) return;
    wd.alarm.enable = false; // the chip resets: its watchdog stops counting
    wd.timer.enable = false;
    stats.watchdog_resets++; emit({ ev: 'watchdog', cycle: cycle(), t_ns: now() }); pendingReset = true; };

  // The reader on SPI (cfg.spi, default 0), chip select on a GPIO.
  const spi = mcu.spi[cfg.spi ?? 0];
  reader = reader || new MFRC522(schedule);
  reader.softReset();
  reader.onFirstTransceive = () => emit({ ev: 'reader', cycle: cycle(), t_ns: now() });
  reader.transceivesAtBoot = reader.transceives;
  spi.onTransmit = (v) => spi.completeTransmit(reader.transfer(v));
  const cs = mcu.gpio[cfg.cs_pin ?? 17];
  cs.addListener(() => { if (cs.outputValue) reader.deselect(); else reader.select(); });

  // An SSD1306 on I2C (cfg.display): a 'display' event with the GDDRAM each
  // time what it shows changes. It keeps its RAM across a watchdog reset.
  if (cfg.display) {
    const i2c = mcu.i2c[cfg.display.i2c ?? 0];
    display = display || new SSD1306(cfg.display.addr ?? 0x3c, (ram, on) =>
      emit({ ev: 'display', on, hex: Buffer.from(ram).toString('hex'), t_ns: now(), cycle: cycle() }));
    i2c.onConnect = (addr) => i2c.completeConnect(display.connect(addr));
    i2c.onWriteByte = (v) => i2c.completeWrite(display.write(v));
    i2c.onReadByte = () => i2c.completeRead(display.read());
    i2c.onStop = () => { display.stop(); i2c.completeStop(); };
  }

  // A W5500 on SPI (cfg.w5500: the wired kiosk), its TCP sockets bridged to
  // host TCP sockets (w5500.mjs). Like the chip on the board, it is not reset
  // with the RP2040: the driver's software reset closes its sockets.
  if (cfg.w5500) {
    const wspi = mcu.spi[cfg.w5500.spi ?? 0];
    w5500 = w5500 || new W5500({ ipMap: cfg.w5500.ip_map || {}, cableOffOnTx: cfg.w5500.cable_off_on_tx,
      onEvent: (e) => emit({ ...e, ev: 'net', what: e.ev, t_ns: now(), cycle: cycle() }) });
    // A byte takes its SPI clock time (8 bits at the programmed rate): rp2040js
    // would otherwise complete it at once, and with MicroPython's DMA path
    // (transfers of 32 bytes and more) the TX DMA then overruns the 8-deep RX FIFO.
    wspi.onTransmit = (v) => {
      const byteNs = Math.max(8e9 / (wspi.clockFrequency || 20e6), NS_PER_CYCLE);
      schedule(byteNs, () => wspi.completeTransmit(w5500.transfer(v)));
    };
    const wcs = mcu.gpio[cfg.w5500.cs_pin ?? 17];
    wcs.addListener(() => { if (wcs.outputValue) w5500.deselect(); else w5500.select(); });
  }

  for (const p of cfg.watch_pins || []) {
    const pin = mcu.gpio[p];
    let last = null;
    pin.addListener(() => {
      const v = pin.outputEnable ? (pin.outputValue ? 1 : 0) : null;
      if (v !== last) { last = v; emit({ ev: 'gpio', pin: p, value: v, t_ns: now(), cycle: cycle() }); }
    });
  }
  // PWM-driven pins (a buzzer) are reported through the PWM slice's enable.
  cdc = new USBCDC(mcu.usbCtrl);
  cdc.onDeviceConnected = () => emit({ ev: 'usb', cycle: cycle(), t_ns: now() });
  cdc.onSerialData = (buf) => {
    const b = Buffer.from(buf);
    if (client) client.write(b);
    emit({ ev: 'out', hex: b.toString('hex'), t_ns: now() });
  };
  // rp2040js answers every OUT transfer at once, with zero bytes when the
  // host has nothing: TinyUSB then re-arms at once, an interrupt storm that
  // keeps the core from ever sleeping. A real host NAKs until it has data.
  const answerRead = mcu.usbCtrl.onEndpointRead;
  mcu.usbCtrl.onEndpointRead = (ep, size) => {
    if (ep === cdc.outEndpoint && cdc.txFIFO.empty) pendingRead = size;
    else answerRead(ep, size);
  };
  feedHost = () => {
    while (hostTx.length && !cdc.txFIFO.full) cdc.sendSerialByte(hostTx.shift());
    if (pendingRead != null && !cdc.txFIFO.empty) {
      const size = pendingRead;
      pendingRead = null;
      answerRead(cdc.outEndpoint, size);
    }
  };
  pendingRead = null;
  emit({ ev: 'boot', cycle: cycle(), t_ns: now() });
}
let pendingReset = false;
let pace = null; // {t, w}: keep emulated time from running ahead of wall time while idle
let pendingRead = null;
let feedHost = () => {};

// -- the host side ---------------------------------------------------------------
const server = net.createServer((sock) => {
  client = sock;
  sock.setNoDelay(true);
  sock.on('data', (d) => { for (const b of d) hostTx.push(b); });
  sock.on('close', () => { if (client === sock) client = null; });
  sock.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => emit({ ev: 'listening', port: server.address().port }));

function command(c) {
  switch (c.cmd) {
    case 'present': reader.present(Object.assign(new Card(hex(c.uid), c.sak ?? 0x08), {
      // a card selected at its last cascade level: the program has read its UID
      onSelected: () => emit({ ev: 'selected', uid: c.uid, t_ns: now(), cycle: cycle() }),
    })); emit({ ev: 'card', uid: c.uid, t_ns: now(), cycle: cycle() }); break;
    case 'remove': reader.remove(); emit({ ev: 'card', uid: null, t_ns: now(), cycle: cycle() }); break;
    case 'cut': powerOff('cut'); break;
    case 'cable': w5500.cable(!!c.on); emit({ ev: 'net', what: 'cable', on: !!c.on, t_ns: now(), cycle: cycle() }); break;
    case 'cut_at': cutAt = c.cycle * NS_PER_CYCLE; break;
    case 'cut_after_ms': cutAt = now() + c.ms * 1e6; break;
    case 'cut_in_flash_op': cutOp = flashOps + c.n; break; // the nth flash operation from now
    case 'pace': pace = c.on ? { t: now(), w: performance.now() } : null; break;
    case 'script': // steps on the emulated clock, relative to now
      for (const st of c.steps) schedule((st.after_ms || 0) * 1e6, () => command(st));
      break;
    case 'status': emit({ ev: 'status', cycle: cycle(), t_ns: now(), transceives: reader.transceives, flash_ops: flashOps, ...stats,
      ...(w5500 ? { net: w5500.stats } : {}) }); break;
    default: emit({ ev: 'error', message: `unknown command ${c.cmd}` });
  }
}
const hex = (s) => Array.from(Buffer.from(s, 'hex'));
readline.createInterface({ input: process.stdin }).on('line', (l) => { if (l.trim()) command(JSON.parse(l)); });
process.stdin.on('end', () => powerOff('host closed'));

// -- the loop --------------------------------------------------------------------
boot();
function run() {
  const core = mcu.core;
  const clock = mcu.clock;
  for (let i = 0; i < 200000; i++) {
    if (hostTx.length) feedHost();
    if (core.waiting) {
      // sleeping: jump to the next timer alarm or our next event
      // (no alarm at all: only the host or our queue can wake it; 1 ms steps)
      let dt = clock.nextAlarm ? clock.nanosToNextAlarm : 1e6;
      if (queue.length) dt = Math.min(dt, queue[0].at - now());
      clock.tick(Math.min(Math.max(dt, 1), 1e6));
      if (pace) {
        const aheadMs = (now() - pace.t) / 1e6 - (performance.now() - pace.w);
        if (aheadMs > 0) return setTimeout(run, Math.min(aheadMs, 20));
      }
      i += 50;
    } else {
      const pc = core.PC;
      if (pc < 0x4000 && hooks.has(pc)) {
        hooks.get(pc)(core.registers);
        core.PC = core.registers[14] & ~1;
        continue;
      }
      clock.tick(core.executeInstruction() * NS_PER_CYCLE);
    }
    const t = now();
    while (queue.length && queue[0].at <= t) queue.shift().fn();
    if (t >= cutAt) powerOff('cut');
    if (t >= maxNs) powerOff('max_cycles');
    if (pendingReset) { pendingReset = false; boot(); return setImmediate(run); }
  }
  setImmediate(run);
}
setImmediate(run);
