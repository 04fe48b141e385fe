// The W5500 model (w5500.mjs) driven over SPI frames the way WIZnet's
// ioLibrary (socket.c, w5500.c) drives the chip, against a real TCP server on
// the host: node --test tests/rp2040/w5500.test.mjs (run by test_w5500_model.py).
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { W5500 } from './w5500.mjs';

const tick = () => new Promise((r) => setImmediate(r));

class Driver { // the SPI side, as the RP2040 would clock it
  constructor(chip) { this.chip = chip; }
  frame(addr, bsb, write, data) {
    this.chip.select();
    for (const b of [addr >> 8, addr & 0xff, (bsb << 3) | (write ? 4 : 0)]) this.chip.transfer(b);
    const out = data.map((b) => this.chip.transfer(b));
    this.chip.deselect();
    return out;
  }
  read(bsb, addr, n) { return this.frame(addr, bsb, false, new Array(n).fill(0)); }
  write(bsb, addr, bytes) { this.frame(addr, bsb, true, bytes); }
  r16(bsb, addr) { const [h, l] = this.read(bsb, addr, 2); return (h << 8) | l; }
  w16(bsb, addr, v) { this.write(bsb, addr, [v >> 8, v & 0xff]); }
  async until(pred, what) {
    for (let i = 0; i < 2000; i++) { if (pred()) return; await tick(); }
    assert.fail(`timeout: ${what}`);
  }
  async connect(n, ip, port) {
    const s = 4 * n + 1;
    this.write(s, 0x00, [0x01]); // Sn_MR = TCP
    this.w16(s, 0x04, 50000 + n); // Sn_PORT
    this.write(s, 0x01, [0x01]); // OPEN
    assert.equal(this.read(s, 0x03, 1)[0], 0x13); // SOCK_INIT
    this.write(s, 0x0c, ip); this.w16(s, 0x10, port);
    this.write(s, 0x01, [0x04]); // CONNECT
    await this.until(() => this.read(s, 0x03, 1)[0] === 0x17 || this.read(s, 0x02, 1)[0] & 0x08, 'connect');
    return this.read(s, 0x03, 1)[0];
  }
  async send(n, bytes) {
    const s = 4 * n + 1;
    assert.ok(this.r16(s, 0x20) >= bytes.length); // Sn_TX_FSR
    const wr = this.r16(s, 0x24);
    this.write(4 * n + 2, wr, bytes);
    this.w16(s, 0x24, (wr + bytes.length) & 0xffff);
    this.write(s, 0x01, [0x20]); // SEND
    await this.until(() => this.read(s, 0x02, 1)[0] & 0x10, 'SEND_OK');
    this.write(s, 0x02, [0x10]);
  }
  async recv(n, len) {
    const s = 4 * n + 1;
    const got = [];
    while (got.length < len) {
      await this.until(() => this.r16(s, 0x26) > 0, 'data'); // Sn_RX_RSR
      const size = this.r16(s, 0x26);
      const rd = this.r16(s, 0x28);
      got.push(...this.read(4 * n + 3, rd, size));
      this.w16(s, 0x28, (rd + size) & 0xffff);
      this.write(s, 0x01, [0x40]); // RECV
    }
    return Buffer.from(got);
  }
}

function shut(chip, srv, conns) { // leave no handle open: node --test exits
  for (const s of chip.sockets) s.close();
  for (const c of conns) c.destroy();
  srv.close();
}

function echoServer() {
  return new Promise((resolve) => {
    const conns = [];
    const srv = net.createServer((c) => { conns.push(c); c.on('data', (d) => c.write(d)); c.on('error', () => {}); });
    srv.listen(0, '127.0.0.1', () => resolve({ srv, port: srv.address().port, conns }));
  });
}

test('common registers: version 0x04, link up, addresses kept', () => {
  const d = new Driver(new W5500());
  assert.equal(d.read(0, 0x39, 1)[0], 0x04);
  assert.equal(d.read(0, 0x2e, 1)[0] & 1, 1);
  d.write(0, 0x0f, [10, 0, 2, 15]); // SIPR
  assert.deepEqual(d.read(0, 0x0f, 4), [10, 0, 2, 15]);
});

test('a socket connects to a host TCP server and carries bytes both ways, across the buffer wrap', async () => {
  const { srv, port, conns } = await echoServer();
  const chip = new W5500({ ipMap: { '10.0.2.2': '127.0.0.1' } });
  const d = new Driver(chip);
  assert.equal(await d.connect(0, [10, 0, 2, 2], port), 0x17);
  const msg = Buffer.alloc(1500, 0).map((_, i) => i & 0xff);
  for (let k = 0; k < 4; k++) { // 6 000 bytes through 2 KiB buffers: the pointers wrap
    await d.send(0, Array.from(msg));
    assert.deepEqual(await d.recv(0, msg.length), msg);
  }
  d.write(1, 0x01, [0x10]); // CLOSE
  assert.equal(d.read(1, 0x03, 1)[0], 0x00);
  shut(chip, srv, conns);
});

test('a refused connection ends in Sn_IR TIMEOUT and SOCK_CLOSED', async () => {
  const { srv, port } = await echoServer();
  srv.close();
  const d = new Driver(new W5500());
  assert.equal(await d.connect(0, [10, 0, 2, 2], port), 0x00);
  assert.equal(d.read(1, 0x02, 1)[0] & 0x08, 0x08);
});

test('the server closing the connection shows as CLOSE_WAIT with DISCON', async () => {
  const { srv, port, conns } = await echoServer();
  const chip = new W5500();
  const d = new Driver(chip);
  await d.connect(0, [10, 0, 2, 2], port);
  await d.until(() => conns.length === 1, 'accept');
  conns[0].end();
  await d.until(() => d.read(1, 0x03, 1)[0] === 0x1c, 'CLOSE_WAIT');
  assert.equal(d.read(1, 0x02, 1)[0] & 0x02, 0x02);
  shut(chip, srv, conns);
});

test('the cable pulled: link bit down, no connect; plugged back: traffic resumes', async () => {
  const { srv, port, conns } = await echoServer();
  const chip = new W5500();
  const d = new Driver(chip);
  await d.connect(0, [10, 0, 2, 2], port);
  chip.cable(false);
  assert.equal(d.read(0, 0x2e, 1)[0] & 1, 0);
  d.write(5, 0x00, [0x01]); d.write(5, 0x01, [0x01]); d.w16(5, 0x10, port); d.write(5, 0x0c, [10, 0, 2, 2]);
  d.write(5, 0x01, [0x04]);
  for (let i = 0; i < 50; i++) await tick();
  assert.equal(d.read(5, 0x03, 1)[0], 0x15); // SYNSENT: the SYN goes nowhere
  chip.cable(true);
  await d.send(0, [1, 2, 3]);
  assert.deepEqual(Array.from(await d.recv(0, 3)), [1, 2, 3]);
  shut(chip, srv, conns);
});

test('cable pulled on a SEND starting with a given byte: that data is lost, the link is down', async () => {
  const { srv, port, conns } = await echoServer();
  const events = [];
  const chip = new W5500({ cableOffOnTx: 0x82, onEvent: (e) => events.push(e) });
  const d = new Driver(chip);
  await d.connect(0, [10, 0, 2, 2], port);
  await d.send(0, [0x10, 1, 2]); // carried
  assert.deepEqual(Array.from(await d.recv(0, 3)), [0x10, 1, 2]);
  await d.send(0, [0x82, 9, 9]); // lost with the cable
  assert.equal(d.read(0, 0x2e, 1)[0] & 1, 0);
  assert.deepEqual(events.filter((e) => e.ev === 'cable'), [{ ev: 'cable', socket: 0, on: false, on_tx: 0x82 }]);
  chip.cable(true);
  await d.send(0, [0x82, 7, 7]); // armed once: carried now
  assert.deepEqual(Array.from(await d.recv(0, 3)), [0x82, 7, 7]);
  shut(chip, srv, conns);
});
