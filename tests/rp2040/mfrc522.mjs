// MFRC522 model at register level, on the emulated SPI bus (datasheet
// sections 8.1.2 and 9; ISO 14443-3 for the card side).
//
// What the chip does: registers, a 64-byte FIFO, the Transceive / Idle /
// SoftReset commands, the timer (TPrescaler/TReload, TAuto) ending a silent
// exchange with TimerIRq, TxLastBits/RxAlign, hardware CRC when TxCRCEn /
// RxCRCEn are set, ComIrqReg/ErrorReg/ControlReg/CollReg/FIFOLevelReg.
// What the card does: IDLE/READY/ACTIVE/HALT states, REQA/WUPA -> ATQA,
// anticollision and SELECT at cascade levels 1..3 (4-, 7-, 10-byte UIDs with
// the 0x88 cascade tag and BCC), SAK with CRC_A, HLTA. A removed card forgets
// its state. One card at a time: no collisions are modelled.

const REG = {
  Command: 0x01, ComIEn: 0x02, DivIEn: 0x03, ComIrq: 0x04, DivIrq: 0x05, Error: 0x06,
  Status1: 0x07, Status2: 0x08, FIFOData: 0x09, FIFOLevel: 0x0a, WaterLevel: 0x0b,
  Control: 0x0c, BitFraming: 0x0d, Coll: 0x0e, Mode: 0x11, TxMode: 0x12, RxMode: 0x13,
  TxControl: 0x14, TMode: 0x2a, TPrescaler: 0x2b, TReloadH: 0x2c, TReloadL: 0x2d,
  Version: 0x37,
};
const CMD_IDLE = 0x00, CMD_TRANSCEIVE = 0x0c, CMD_SOFTRESET = 0x0f, CMD_CALCCRC = 0x03;
const IRQ_TX = 0x40, IRQ_RX = 0x20, IRQ_IDLE = 0x10, IRQ_ERR = 0x02, IRQ_TIMER = 0x01;
const ETU_NS = 9440; // one bit at 106 kBd
const FDT_NS = 86000; // card frame delay time, roughly

export function crcA(bytes) {
  let crc = 0x6363;
  for (const x of bytes) {
    let b = (x ^ crc) & 0xff;
    b = (b ^ (b << 4)) & 0xff;
    crc = ((crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)) & 0xffff;
  }
  return [crc & 0xff, crc >> 8];
}

// Split a 4/7/10-byte UID into the CLn bytes of each cascade level.
function cascadeLevels(uid) {
  if (uid.length === 4) return [uid];
  if (uid.length === 7) return [[0x88, ...uid.slice(0, 3)], uid.slice(3)];
  if (uid.length === 10) return [[0x88, ...uid.slice(0, 3)], [0x88, ...uid.slice(3, 6)], uid.slice(6)];
  throw new Error(`UID of ${uid.length} bytes: ISO 14443-3 allows 4, 7 or 10`);
}

export class Card {
  constructor(uid, sak = 0x08) {
    this.uid = uid;
    this.levels = cascadeLevels(uid);
    this.sak = sak; // final SAK (0x08: MIFARE Classic 1K)
    this.state = 'IDLE';
    this.level = 0;
  }
  // -> response bytes (without CRC unless the card adds it), or null (silent)
  receive(frame, bits) {
    const cmd = frame[0];
    if (bits === 7 && frame.length === 1) {
      if ((cmd === 0x26 && this.state === 'IDLE') || (cmd === 0x52 && (this.state === 'IDLE' || this.state === 'HALT'))) {
        this.state = 'READY';
        this.level = 0;
        const atqa0 = [0x04, 0x44, 0x84][this.levels.length - 1]; // UID size bits
        return { bytes: [atqa0, 0x00] };
      }
      return null;
    }
    if (cmd === 0x50 && frame.length === 4 && frame[1] === 0) { // HLTA + CRC
      const [c0, c1] = crcA(frame.slice(0, 2));
      if (frame[2] === c0 && frame[3] === c1 && this.state === 'ACTIVE') this.state = 'HALT';
      return null;
    }
    const lvl = [0x93, 0x95, 0x97].indexOf(cmd);
    if (lvl < 0 || this.state !== 'READY' || lvl !== this.level || lvl >= this.levels.length) {
      if (this.state !== 'HALT') this.state = 'IDLE';
      return null;
    }
    const cl = this.levels[lvl];
    const bcc = cl[0] ^ cl[1] ^ cl[2] ^ cl[3];
    const full = [...cl, bcc];
    const nvb = frame[1];
    if (nvb === 0x70) { // SELECT
      if (frame.length !== 9) return null;
      const [c0, c1] = crcA(frame.slice(0, 7));
      if (frame[7] !== c0 || frame[8] !== c1) return null;
      for (let i = 0; i < 5; i++) if (frame[2 + i] !== full[i]) return null;
      const last = lvl === this.levels.length - 1;
      const sak = last ? this.sak : 0x04;
      if (last) { this.state = 'ACTIVE'; if (this.onSelected) this.onSelected(this); } else this.level++;
      return { bytes: [sak, ...crcA([sak])] };
    }
    // ANTICOLLISION: NVB = bytes (high nibble) + bits (low nibble) known
    const knownBits = ((nvb >> 4) - 2) * 8 + (nvb & 0x0f);
    if (knownBits < 0 || knownBits >= 40) return null;
    for (let b = 0; b < knownBits; b++) {
      const mine = (full[b >> 3] >> (b & 7)) & 1;
      const sent = (frame[2 + (b >> 3)] >> (b & 7)) & 1;
      if (mine !== sent) return null;
    }
    // Answer the remaining bits; the first byte keeps the bit alignment.
    const whole = knownBits >> 3;
    const out = full.slice(whole);
    if (knownBits & 7) out[0] &= ~((1 << (knownBits & 7)) - 1) & 0xff;
    return { bytes: out, rxAlign: knownBits & 7 };
  }
}

export class MFRC522 {
  // schedule(delayNs, fn): run fn after delayNs of emulated time
  constructor(schedule, log = () => {}) {
    this.schedule = schedule;
    this.log = log;
    this.card = null; // the card in the field, or null
    this.transceives = 0;
    this.softReset();
  }
  softReset() {
    this.regs = new Uint8Array(64);
    this.regs[REG.Version] = 0x92;
    this.regs[REG.Mode] = 0x3f;
    this.regs[REG.TxControl] = 0x80;
    this.regs[REG.WaterLevel] = 0x08;
    this.regs[REG.Control] = 0x10;
    this.fifo = [];
    this.epoch = (this.epoch || 0) + 1; // cancels pending exchanges
    this.frame = null;
  }
  present(card) { this.card = card; }
  remove() { this.card = null; }

  // -- SPI: one chip-select frame ------------------------------------------
  select() { this.frame = { addr: null, read: false, n: 0 }; }
  deselect() { this.frame = null; }
  // one byte clocked: returns the MISO byte
  transfer(mosi) {
    const f = this.frame;
    if (!f) return 0; // not selected: MISO floats
    if (f.n++ === 0) {
      f.read = !!(mosi & 0x80);
      f.addr = (mosi >> 1) & 0x3f;
      return 0;
    }
    if (f.read) {
      const v = this.readReg(f.addr);
      f.addr = (mosi >> 1) & 0x3f; // the next address byte
      return v;
    }
    this.writeReg(f.addr, mosi);
    return 0;
  }

  readReg(r) {
    switch (r) {
      case REG.FIFOData: return this.fifo.length ? this.fifo.shift() : 0;
      case REG.FIFOLevel: return this.fifo.length & 0x7f;
      case REG.Status2: return this.regs[r] & ~0x07 | 0x01;
      default: return this.regs[r];
    }
  }

  writeReg(r, v) {
    switch (r) {
      case REG.Command: {
        const cmd = v & 0x0f;
        this.regs[r] = v & 0x3f;
        if (cmd === CMD_SOFTRESET) { this.softReset(); return; }
        if (cmd === CMD_IDLE) { this.epoch++; return; }
        if (cmd === CMD_CALCCRC) {
          const [c0, c1] = crcA(this.fifo);
          this.regs[0x21] = c1; this.regs[0x22] = c0; this.regs[REG.DivIrq] |= 0x04;
          this.regs[r] &= ~0x0f;
        }
        return; // Transceive waits for StartSend
      }
      case REG.ComIrq: // Set1 bit 7: set or clear the bits marked 1
        if (v & 0x80) this.regs[r] |= v & 0x7f; else this.regs[r] &= ~v;
        return;
      case REG.DivIrq:
        if (v & 0x80) this.regs[r] |= v & 0x7f; else this.regs[r] &= ~v;
        return;
      case REG.FIFOData:
        if (this.fifo.length < 64) this.fifo.push(v); else this.regs[REG.Error] |= 0x10;
        return;
      case REG.FIFOLevel:
        if (v & 0x80) { this.fifo = []; this.regs[REG.Error] &= ~0x10; }
        return;
      case REG.BitFraming:
        this.regs[r] = v & 0x7f;
        if (v & 0x80 && (this.regs[REG.Command] & 0x0f) === CMD_TRANSCEIVE) this.startSend();
        return;
      default:
        this.regs[r] = v;
    }
  }

  timerNs() {
    const pre = ((this.regs[REG.TMode] & 0x0f) << 8) | this.regs[REG.TPrescaler];
    const reload = (this.regs[REG.TReloadH] << 8) | this.regs[REG.TReloadL];
    return Math.round(((2 * pre + 1) * (reload + 1)) / 13.56e6 * 1e9);
  }

  startSend() {
    if (this.transceives++ === this.transceivesAtBoot && this.onFirstTransceive) this.onFirstTransceive();
    const txLastBits = this.regs[REG.BitFraming] & 0x07;
    let frame = this.fifo.splice(0);
    if (this.regs[REG.TxMode] & 0x80) frame = [...frame, ...crcA(frame)];
    const bits = (frame.length - 1) * 8 + (txLastBits || 8);
    const antennaOn = (this.regs[REG.TxControl] & 0x03) === 0x03;
    const answer = antennaOn && this.card ? this.card.receive(frame, txLastBits || 8) : null;
    this.regs[REG.Error] = 0;
    const epoch = this.epoch;
    const txNs = bits * ETU_NS;
    this.regs[REG.ComIrq] |= 0; // TxIRq comes at the end of transmission
    this.schedule(txNs, () => {
      if (epoch !== this.epoch) return;
      this.regs[REG.ComIrq] |= IRQ_TX;
      if (!answer) {
        // TAuto: the timer starts at the end of transmission and fires if silent
        if (this.regs[REG.TMode] & 0x80) {
          this.schedule(this.timerNs(), () => {
            if (epoch !== this.epoch) return;
            this.regs[REG.ComIrq] |= IRQ_TIMER;
          });
        }
        return;
      }
      let bytes = answer.bytes;
      if (this.regs[REG.RxMode] & 0x80) {
        // RxCRCEn: the chip checks and strips the card's CRC_A
        const body = bytes.slice(0, -2);
        const [c0, c1] = crcA(body);
        if (bytes.length < 3 || bytes.at(-2) !== c0 || bytes.at(-1) !== c1) this.regs[REG.Error] |= 0x04;
        bytes = body;
      }
      const rxNs = FDT_NS + bytes.length * 9 * ETU_NS;
      this.schedule(rxNs, () => {
        if (epoch !== this.epoch) return;
        for (const b of bytes) this.fifo.push(b);
        this.regs[REG.Control] = (this.regs[REG.Control] & ~0x07); // whole bytes received
        this.regs[REG.Coll] = 0x20; // no collision: CollPosNotValid
        this.regs[REG.ComIrq] |= IRQ_RX | (this.regs[REG.Error] ? IRQ_ERR : 0);
        // Transceive stays active (the chip goes back to receiving), as on silicon
      });
    });
  }
}
