// SSD1306 128x64 OLED controller on I2C, at the byte level the chip sees
// (datasheet rev 1.1, 8.1.5 I2C-bus write data; 10 command table), for the
// emulated RP2040 (runner.mjs hooks it to rp2040js's RPI2C). docs/rp2040-emulation.md.
//
// After the address byte, a control byte: Co (bit 7) = another control byte
// follows the next data byte; D/C# (bit 6) = the bytes are GDDRAM data, else
// commands. Commands with arguments take them from the next command bytes,
// across transactions (MicroPython's driver sends each in its own write).
// GDDRAM: 8 pages x 128 columns, a byte = 8 vertical pixels (bit 0 on top);
// horizontal / vertical / page addressing with the column and page windows.

const ARGS = { 0x20: 1, 0x21: 2, 0x22: 2, 0x81: 1, 0x8d: 1, 0xa8: 1, 0xd3: 1, 0xd5: 1, 0xd9: 1, 0xda: 1, 0xdb: 1 };

export class SSD1306 {
  constructor(address = 0x3c, onFrame = () => {}) {
    this.address = address;
    this.onFrame = onFrame; // (ram Uint8Array(1024), displayOn) after a write that changed what is shown
    this.ram = new Uint8Array(1024);
    this.shown = null;
    this.on = false;
    this.mode = 2; // page addressing after reset
    this.col0 = 0; this.col1 = 127; this.page0 = 0; this.page1 = 7;
    this.col = 0; this.page = 0;
    this.cmd = null; this.args = [];
    this.selected = false;
    this.control = null; // the control byte of the current run, null = expect one
    this.commands = 0;
    this.dataBytes = 0;
  }

  // -- I2C (rp2040js RPI2C hooks) --
  connect(addr) { this.selected = addr === this.address; this.control = null; return this.selected; }
  write(v) {
    if (!this.selected) return false;
    if (this.control === null) { this.control = v; return true; }
    if (this.control & 0x40) this.data(v); else this.command(v);
    if (this.control & 0x80) this.control = null; // Co: a control byte comes next
    return true;
  }
  read() { return this.on ? 0x03 : 0x43; } // status byte: bit 6 = display off
  stop() {
    if (!this.selected) return;
    this.selected = false;
    const same = this.shown && this.shown.on === this.on && this.shown.ram.every((b, i) => b === this.ram[i]);
    if (!same) {
      this.shown = { ram: Uint8Array.from(this.ram), on: this.on };
      this.onFrame(this.shown.ram, this.on);
    }
  }

  command(v) {
    this.commands++;
    if (this.cmd !== null) {
      this.args.push(v);
      if (this.args.length < ARGS[this.cmd]) return;
      const [c, a] = [this.cmd, this.args];
      this.cmd = null; this.args = [];
      if (c === 0x20) this.mode = a[0] & 3;
      else if (c === 0x21) { this.col0 = a[0] & 127; this.col1 = a[1] & 127; this.col = this.col0; }
      else if (c === 0x22) { this.page0 = a[0] & 7; this.page1 = a[1] & 7; this.page = this.page0; }
      return;
    }
    if (ARGS[v]) { this.cmd = v; return; }
    if (v === 0xae || v === 0xaf) this.on = v === 0xaf;
    else if (v >= 0xb0 && v <= 0xb7) this.page = v & 7; // page mode: page start
    else if (v <= 0x0f) this.col = (this.col & 0xf0) | v; // page mode: column low nibble
    else if (v >= 0x10 && v <= 0x1f) this.col = (this.col & 0x0f) | ((v & 0x0f) << 4);
  }

  data(v) {
    this.dataBytes++;
    this.ram[this.page * 128 + this.col] = v;
    if (this.mode === 0) { // horizontal
      if (++this.col > this.col1) { this.col = this.col0; if (++this.page > this.page1) this.page = this.page0; }
    } else if (this.mode === 1) { // vertical
      if (++this.page > this.page1) { this.page = this.page0; if (++this.col > this.col1) this.col = this.col0; }
    } else if (++this.col > 127) this.col = 0; // page mode: wraps within the page
  }
}
