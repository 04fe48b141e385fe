// WIZnet W5500 at SPI-register level, its TCP sockets bridged to host TCP
// sockets (the chip's own TCP/IP "offload" mode), for the emulated RP2040
// (docs/rp2040-emulation.md, "The wired variant"). Same select/transfer/
// deselect interface as the MFRC522 model.
//
// SPI frame (W5500 datasheet 2.2): address (16 bits, MSB first), control byte
// = BSB[7:3] | RWB[2] | OM[1:0], then data; variable-length mode (OM = 00),
// the frame ends with chip select. BSB 0 = common registers, 4n+1 = socket n
// registers, 4n+2 = its TX buffer, 4n+3 = its RX buffer.
//
// Modelled: common registers (MR, GAR, SUBR, SHAR, SIPR, RTR, RCR, PHYCFGR
// with the link bit, VERSIONR = 0x04), 8 sockets in TCP client mode: Sn_MR,
// Sn_CR (OPEN, CONNECT, SEND, RECV, DISCON, CLOSE), Sn_IR (write 1 to clear),
// Sn_SR, Sn_PORT, Sn_DIPR, Sn_DPORT, buffer sizes, Sn_TX_FSR/RD/WR,
// Sn_RX_RSR/RD/WR, 2 KiB buffers by default. CONNECT opens a host TCP
// connection to the destination IP mapped through `ipMap` (default: every
// address to 127.0.0.1), so the board talks to real servers on the host.
// Not modelled: UDP, MACRAW, LISTEN (server sockets), interrupts pin.
//
// Fault: `cableOffOnTx` = a first byte (0x82: an MQTT SUBSCRIBE): the cable is
// pulled the moment the program SENDs data starting with it, and that data is
// lost (a cable pulled right after the MQTT connect, before the SUBACK).
import net from 'node:net';

const SR = { CLOSED: 0x00, INIT: 0x13, SYNSENT: 0x15, ESTABLISHED: 0x17, CLOSE_WAIT: 0x1c };
const IR = { CON: 0x01, DISCON: 0x02, RECV: 0x04, TIMEOUT: 0x08, SENDOK: 0x10 };
const CR = { OPEN: 0x01, LISTEN: 0x02, CONNECT: 0x04, DISCON: 0x08, CLOSE: 0x10, SEND: 0x20, RECV: 0x40 };

class Socket {
  constructor(n, chip) {
    this.n = n;
    this.chip = chip;
    this.reg = new Uint8Array(0x30);
    this.reg[0x1e] = 2; // RXBUF_SIZE KiB
    this.reg[0x1f] = 2; // TXBUF_SIZE KiB
    this.tx = new Uint8Array(16 * 1024);
    this.rx = new Uint8Array(16 * 1024);
    this.host = null;
    this.pending = []; // host bytes not yet in the RX buffer (it was full)
    this.reset();
  }
  reset() {
    this.reg[0x03] = SR.CLOSED;
    this.setFree(this.txSize());
    for (const a of [0x22, 0x24, 0x26, 0x28, 0x2a]) this.set16(a, 0);
    this.pending = [];
  }
  get16(a) { return (this.reg[a] << 8) | this.reg[a + 1]; }
  set16(a, v) { this.reg[a] = (v >> 8) & 0xff; this.reg[a + 1] = v & 0xff; }
  txSize() { return this.reg[0x1f] * 1024; }
  rxSize() { return this.reg[0x1e] * 1024; }
  setFree(v) { this.set16(0x20, v); }
  get status() { return this.reg[0x03]; }
  set status(v) { this.reg[0x03] = v; }
  irq(bits) { this.reg[0x02] |= bits; }

  command(c) {
    const chip = this.chip;
    if (c === CR.OPEN) {
      this.close();
      this.reset();
      this.status = (this.reg[0] & 0x0f) === 1 ? SR.INIT : SR.CLOSED; // TCP only
    } else if (c === CR.CONNECT && this.status === SR.INIT) {
      const ip = Array.from(this.reg.subarray(0x0c, 0x10)).join('.');
      const port = this.get16(0x10);
      this.status = SR.SYNSENT;
      if (!chip.link) return; // no cable: the SYN goes nowhere; the driver times out
      const host = net.connect({ host: chip.ipMap[ip] ?? chip.defaultHost, port });
      this.host = host;
      host.setNoDelay(true);
      host.on('connect', () => { if (this.host === host) { this.status = SR.ESTABLISHED; this.irq(IR.CON); chip.event('tcp_connect', this.n, { ip, port }); } });
      host.on('data', (d) => { if (this.host === host) this.receive(d); });
      host.on('end', () => { if (this.host === host) { this.status = SR.CLOSE_WAIT; this.irq(IR.DISCON); } });
      host.on('error', (e) => {
        if (this.host !== host) return;
        chip.event('tcp_error', this.n, { error: e.code });
        const connecting = this.status === SR.SYNSENT;
        this.host = null;
        this.status = SR.CLOSED;
        this.irq(connecting ? IR.TIMEOUT : IR.DISCON); // refused/unreachable: the chip's ARP/SYN timeout
      });
      host.on('close', () => { if (this.host === host) { this.host = null; this.status = SR.CLOSED; this.irq(IR.DISCON); } });
    } else if (c === CR.SEND) {
      const size = this.txSize();
      let rd = this.get16(0x22);
      const wr = this.get16(0x24);
      const n = (wr - rd) & 0xffff;
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++, rd = (rd + 1) & 0xffff) out[i] = this.tx[rd % size];
      this.set16(0x22, rd);
      if (chip.cableOffOnTx != null && n && out[0] === chip.cableOffOnTx) {
        chip.cableOffOnTx = null;
        chip.cable(false);
        chip.event('cable', this.n, { on: false, on_tx: out[0] });
      }
      if (this.host && this.status === SR.ESTABLISHED && chip.link) this.host.write(out);
      this.irq(IR.SENDOK);
      this.setFree(size);
      chip.stats.tx += n;
    } else if (c === CR.RECV) {
      this.updateRSR();
      this.drain();
    } else if (c === CR.DISCON) {
      if (this.host) this.host.end();
      this.status = SR.CLOSED;
      this.irq(IR.DISCON);
    } else if (c === CR.CLOSE) {
      this.close();
      this.status = SR.CLOSED;
    }
  }
  close() {
    if (this.host) { const h = this.host; this.host = null; h.destroy(); }
  }
  updateRSR() { this.set16(0x26, (this.get16(0x2a) - this.get16(0x28)) & 0xffff); }
  receive(d) {
    this.pending.push(...d);
    this.chip.stats.rx += d.length;
    this.drain();
  }
  drain() {
    const size = this.rxSize();
    let wr = this.get16(0x2a);
    const room = size - ((wr - this.get16(0x28)) & 0xffff);
    const n = Math.min(room, this.pending.length);
    if (!n) return;
    for (let i = 0; i < n; i++, wr = (wr + 1) & 0xffff) this.rx[wr % size] = this.pending[i];
    this.pending.splice(0, n);
    this.set16(0x2a, wr);
    this.updateRSR();
    this.irq(IR.RECV);
  }
}

export class W5500 {
  constructor({ ipMap = {}, defaultHost = '127.0.0.1', onEvent = () => {}, cableOffOnTx = null } = {}) {
    this.common = new Uint8Array(0x40);
    this.common[0x19] = 0x07; this.common[0x1a] = 0xd0; // RTR 2000 (x100 us)
    this.common[0x1b] = 8; // RCR
    this.common[0x39] = 0x04; // VERSIONR
    this.link = true;
    this.cableOffOnTx = cableOffOnTx;
    this.ipMap = ipMap;
    this.defaultHost = defaultHost;
    this.onEvent = onEvent;
    this.sockets = Array.from({ length: 8 }, (_, n) => new Socket(n, this));
    this.frame = null;
    this.stats = { frames: 0, tx: 0, rx: 0 };
  }
  event(ev, socket, extra) { this.onEvent({ ev, socket, ...extra }); }
  // The cable: unplugged, the PHY link bit drops and established connections
  // stop carrying data (the host side is held, as a switch would).
  cable(on) {
    this.link = on;
    for (const s of this.sockets) if (s.host) { if (on) s.host.resume(); else s.host.pause(); }
  }
  select() { this.frame = { hdr: [], addr: 0, bsb: 0, write: false }; this.stats.frames++; }
  deselect() { this.frame = null; }
  transfer(mosi) {
    const f = this.frame;
    if (!f) return 0xff;
    if (f.hdr.length < 3) {
      f.hdr.push(mosi);
      if (f.hdr.length === 3) {
        f.addr = (f.hdr[0] << 8) | f.hdr[1];
        f.bsb = f.hdr[2] >> 3;
        f.write = !!(f.hdr[2] & 0x04);
      }
      return 0x00;
    }
    const v = f.write ? (this.write(f.bsb, f.addr, mosi), 0) : this.read(f.bsb, f.addr);
    f.addr = (f.addr + 1) & 0xffff;
    return v;
  }
  read(bsb, a) {
    if (bsb === 0) {
      if (a === 0x2e) return 0xb8 | (this.link ? 0x07 : 0x00); // PHYCFGR: 100 Mb/s full duplex when up
      if (a === 0x17) return this.sockets.reduce((m, s, n) => m | (s.reg[0x02] ? 1 << n : 0), 0); // SIR
      return a < 0x40 ? this.common[a] : 0;
    }
    const s = this.sockets[bsb >> 2];
    const kind = bsb & 3;
    if (kind === 1) {
      if (a === 0x01) return 0; // Sn_CR reads 0 once the command is taken
      return a < 0x30 ? s.reg[a] : 0;
    }
    if (kind === 2) return s.tx[a % s.txSize()];
    return s.rx[a % s.rxSize()];
  }
  write(bsb, a, v) {
    if (bsb === 0) {
      if (a === 0 && v & 0x80) { // MR.RST: software reset
        for (const s of this.sockets) { s.close(); s.reg.fill(0, 0, 0x1e); s.reset(); }
        return;
      }
      if (a < 0x40 && a !== 0x39 && a !== 0x2e) this.common[a] = v;
      return;
    }
    const s = this.sockets[bsb >> 2];
    const kind = bsb & 3;
    if (kind === 1) {
      if (a === 0x01) s.command(v);
      else if (a === 0x02) s.reg[0x02] &= ~v; // Sn_IR: write 1 to clear
      else if (a === 0x24 || a === 0x25 || a === 0x28 || a === 0x29 || a < 0x20 || a >= 0x2c) s.reg[a] = v;
      if (a === 0x25) s.setFree((s.txSize() - ((s.get16(0x24) - s.get16(0x22)) & 0xffff)) & 0xffff);
      return;
    }
    if (kind === 2) s.tx[a % s.txSize()] = v;
  }
}
