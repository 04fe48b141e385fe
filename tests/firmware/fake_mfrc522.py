# A fake MFRC522 at SPI/register level, with ISO 14443-3 cards in its field.
#
# It implements the machine.SPI calls the driver makes (write, write_readinto)
# and a chip-select pin, decodes MFRC522 SPI frames into register reads and
# writes, and runs the chip's FIFO, interrupt, error, collision and bit-framing
# registers and the Transceive command against fake cards that follow the
# ISO 14443-3 state machine (IDLE, READY, ACTIVE, HALT; cascade levels).
#
# Portable (CPython and MicroPython Unix port), so the real driver is tested on
# both. The no-card path allocates nothing, so heap use of the driver can be
# measured through it.

CommandReg = 0x01
ComIrqReg = 0x04
DivIrqReg = 0x05
ErrorReg = 0x06
FIFODataReg = 0x09
FIFOLevelReg = 0x0A
ControlReg = 0x0C
BitFramingReg = 0x0D
CollReg = 0x0E
VersionReg = 0x37

CMD_IDLE = 0x00
CMD_TRANSCEIVE = 0x0C
CMD_SOFTRESET = 0x0F

IDLE = 0
READY = 1
ACTIVE = 2
HALT = 3
SEL = (0x93, 0x95, 0x97)


def crc_a(data):
    crc = 0x6363
    for x in data:
        b = (x ^ crc) & 0xFF
        b = (b ^ (b << 4)) & 0xFF
        crc = ((crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)) & 0xFFFF
    return crc


def bits_of(data, nbits):
    """LSB first, as ISO 14443 sends them."""
    out = []
    for i in range(nbits):
        out.append((data[i >> 3] >> (i & 7)) & 1)
    return out


def bytes_of_bits(bits):
    out = bytearray((len(bits) + 7) // 8)
    for i in range(len(bits)):
        if bits[i]:
            out[i >> 3] |= 1 << (i & 7)
    return out


class FakeCard:
    """An ISO 14443-A card. uid: 4, 7 or 10 bytes; sak: the final SAK."""

    def __init__(self, uid, sak=0x08, atqa=(0x44, 0x00), bad_bcc=False):
        self.uid = bytes(uid)
        self.sak = sak
        self.atqa = bytes(atqa)
        self.state = IDLE
        self.level = 0
        self.from_halt = False
        self.bad_sak_crc = 0  # answer the next N SELECTs with a wrong CRC
        self.levels = []  # (UID CLn + BCC, SAK) per cascade level
        u = self.uid
        parts = {4: (u,), 7: (b"\x88" + u[0:3], u[3:7]), 10: (b"\x88" + u[0:3], b"\x88" + u[3:6], u[6:10])}[
            len(u)
        ]
        for i in range(len(parts)):
            cl = bytearray(parts[i])
            cl.append(cl[0] ^ cl[1] ^ cl[2] ^ cl[3] ^ (0xFF if bad_bcc else 0))
            last = i == len(parts) - 1
            self.levels.append((bytes(cl), sak if last else 0x04))

    def _drop(self):
        # Any unexpected frame sends a card back to IDLE (HALT if it was woken
        # from HALT): ISO 14443-3 6.3.
        self.state = HALT if self.from_halt else IDLE

    def on_frame(self, data, nbits):
        """-> list of answer bits, or None for silence."""
        if nbits == 7:
            cmd = data[0] & 0x7F
            if cmd == 0x26 and self.state == IDLE or cmd == 0x52 and self.state in (IDLE, HALT):
                self.from_halt = self.state == HALT
                self.state = READY
                self.level = 0
                return bits_of(self.atqa, 16)
            if self.state in (READY, ACTIVE):
                self._drop()
            return None
        if nbits < 16:
            self._drop()
            return None
        cmd = data[0]
        if cmd == 0x50 and nbits == 32 and self.state == ACTIVE:
            if data[1] == 0 and crc_a(data[0:2]) == data[2] | data[3] << 8:
                self.state = HALT
                return None
        if self.state != READY or cmd != SEL[self.level]:
            self._drop()
            return None
        cl, sak = self.levels[self.level]
        nvb = data[1]
        if nvb == 0x70 and nbits == 72:
            if crc_a(data[0:7]) != data[7] | data[8] << 8:
                self._drop()
                return None
            if bytes(data[2:7]) != cl:
                return None  # selected another card: stay READY, silent
            if sak & 0x04:
                self.level += 1
            else:
                self.state = ACTIVE
            crc = crc_a(bytes((sak,)))
            if self.bad_sak_crc:
                self.bad_sak_crc -= 1
                crc ^= 0x5A5A
            return bits_of(bytes((sak, crc & 0xFF, crc >> 8)), 24)
        known = (nvb >> 4) * 8 + (nvb & 7) - 16
        if known != nbits - 16 or known < 0 or known > 32:
            self._drop()
            return None
        mine = bits_of(cl, 40)
        if bits_of(data[2:], known) != mine[0:known]:
            return None  # not my UID prefix: stay silent
        return mine[known:]


class FakePin:
    def __init__(self, on_change=None):
        self._v = 1
        self._on_change = on_change

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = v
        if self._on_change is not None:
            self._on_change(v)


class FakeMFRC522:
    """The chip behind machine.SPI. Use .spi and .cs with the driver."""

    def __init__(self, version=0x92):
        self.version = version
        self.regs = bytearray(64)
        self.fifo = bytearray(64)
        self.fifo_len = 0
        self.fifo_pos = 0
        self.cards = []
        self.cs = FakePin(self._cs_changed)
        self.spi = self
        self.frames = 0  # SPI frames seen (one per chip select)
        self.transceives = 0
        self.last_tx = None  # (bytes, nbits) of the last transmission
        self.inject_error = 0  # ErrorReg bits for the next answered exchange
        self.stall = False  # never raise an interrupt (a dead chip)
        self.stuck_in_reset = False
        self._cs_low = False
        self._in_frame = 0
        self._write_reg = -1  # register of an open write frame
        self._reset()

    # -- pins and SPI -------------------------------------------------------
    def _cs_changed(self, v):
        self._cs_low = not v
        if self._cs_low:
            self.frames += 1
        self._write_reg = -1

    def write(self, buf):
        if not self._cs_low:
            raise AssertionError("SPI write with chip select high")
        start = 0
        if self._write_reg < 0:
            if buf[0] & 0x80:
                raise AssertionError("a read address sent with write()")
            self._write_reg = (buf[0] >> 1) & 0x3F
            start = 1
        # Data bytes after the address all go to that register (the FIFO).
        for i in range(start, len(buf)):
            self._wreg(self._write_reg, buf[i])

    def write_readinto(self, out, into):
        if not self._cs_low:
            raise AssertionError("SPI transfer with chip select high")
        into[0] = 0
        n = len(out)
        for i in range(n - 1):
            a = out[i]
            if not a & 0x80:
                raise AssertionError("write address inside a read frame")
            into[i + 1] = self._rreg((a >> 1) & 0x3F)

    # -- cards --------------------------------------------------------------
    def enter(self, card):
        card.state = IDLE
        card.from_halt = False
        self.cards.append(card)
        return card

    def leave(self, card):
        self.cards.remove(card)  # power lost: the card forgets its state

    # -- registers ----------------------------------------------------------
    def _reset(self):
        for i in range(64):
            self.regs[i] = 0
        self.regs[CommandReg] = 0x10 if self.stuck_in_reset else 0x20  # RcvOff reset value
        self.regs[0x14] = 0x80  # TxControlReg
        self.regs[VersionReg] = self.version
        self.fifo_len = 0
        self.fifo_pos = 0

    def _rreg(self, reg):
        if reg == FIFODataReg:
            if self.fifo_pos >= self.fifo_len:
                return 0
            v = self.fifo[self.fifo_pos]
            self.fifo_pos += 1
            return v
        if reg == FIFOLevelReg:
            return self.fifo_len - self.fifo_pos
        return self.regs[reg]

    def _wreg(self, reg, val):
        if reg == CommandReg:
            cmd = val & 0x0F
            if cmd == CMD_SOFTRESET:
                self._reset()
                return
            self.regs[CommandReg] = val & 0x3F
        elif reg == ComIrqReg:
            if val & 0x80:
                self.regs[ComIrqReg] |= val & 0x7F
            else:
                self.regs[ComIrqReg] &= ~val & 0x7F
        elif reg == FIFOLevelReg:
            if val & 0x80:
                self.fifo_len = 0
                self.fifo_pos = 0
                self.regs[ErrorReg] &= ~0x10
        elif reg == FIFODataReg:
            if self.fifo_len >= 64:
                self.regs[ErrorReg] |= 0x10  # BufferOvfl
            else:
                self.fifo[self.fifo_len] = val
                self.fifo_len += 1
        elif reg == BitFramingReg:
            self.regs[BitFramingReg] = val & 0x7F
            if val & 0x80 and self.regs[CommandReg] & 0x0F == CMD_TRANSCEIVE:
                self._transceive()
        elif reg in (ErrorReg, VersionReg, DivIrqReg):
            pass  # read-only
        else:
            self.regs[reg] = val

    # -- the radio ----------------------------------------------------------
    def _transceive(self):
        self.transceives += 1
        framing = self.regs[BitFramingReg]
        tx_last = framing & 7
        rx_align = (framing >> 4) & 7
        n = self.fifo_len - self.fifo_pos
        self.regs[ErrorReg] = 0
        self.regs[CollReg] = self.regs[CollReg] & 0x80
        if self.stall:
            self.fifo_len = self.fifo_pos = 0
            return
        if not self.cards or n == 0:
            # Nobody in the field: the 25 ms timer runs out. No allocation here.
            self.fifo_len = self.fifo_pos = 0
            self.regs[ComIrqReg] |= 0x01
            return
        data = bytes(self.fifo[self.fifo_pos : self.fifo_len])
        nbits = (n - 1) * 8 + (tx_last or 8)
        self.last_tx = (data, nbits)
        self.fifo_len = self.fifo_pos = 0
        answers = []
        for card in self.cards:
            a = card.on_frame(data, nbits)
            if a is not None:
                answers.append(a)
        if not answers:
            self.regs[ComIrqReg] |= 0x01
            return
        bits = list(answers[0])
        coll = -1
        for other in answers[1:]:
            for i in range(min(len(bits), len(other))):
                if other[i] != bits[i] and (coll < 0 or i < coll):
                    coll = i
        if coll >= 0:
            # ValuesAfterColl = 0: every bit from the collision on reads as 0.
            for i in range(coll, len(bits)):
                bits[i] = 0
            self.regs[ErrorReg] |= 0x08
            pos = coll + 1  # counted from 1 within the received frame
            if pos > 32:
                self.regs[CollReg] |= 0x20  # CollPosNotValid
            else:
                self.regs[CollReg] |= pos & 0x1F
        packed = bytes_of_bits([0] * rx_align + bits)
        for i in range(len(packed)):
            self.fifo[i] = packed[i]
        self.fifo_len = len(packed)
        self.regs[ControlReg] = (self.regs[ControlReg] & 0xF8) | ((rx_align + len(bits)) & 7)
        self.regs[ErrorReg] |= self.inject_error
        self.inject_error = 0
        self.regs[ComIrqReg] |= 0x20  # RxIRq
