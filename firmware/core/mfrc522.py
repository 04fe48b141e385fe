# MFRC522 driver: reads the UID of one ISO 14443-A card (4, 7 or 10 bytes).
#
# Portable: runs on MicroPython (Pico W, machine.SPI) and CPython (Raspberry Pi,
# spidev behind a machine.SPI-like adapter). The bus object needs write(buf) and
# write_readinto(out, into); cs is a Pin-like object with value(0|1).
#
# Choices (docs/firmware.md, "Badge reader"):
# - WUPA + SELECT + HLTA on every poll by default, so a card lying on the reader
#   answers every poll; REQA without HLTA (wakeup=False, halt=False) is the
#   classic mode whose every other poll fails, which the presence machine absorbs.
# - The cascade level is chosen from the SAK "UID not complete" bit (0x04), never
#   from uid[0] == 0x88 alone; the cascade tag is then dropped from the UID.
# - CRC_A is computed in software: no CalcCRC round trips over SPI.
# - The no-card path allocates nothing: pre-allocated buffers, ints only.

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):  # type: ignore[misc, unused-ignore]  # the stubs' const is generic
        return x

# PCD registers (datasheet section 9)
_CommandReg = const(0x01)
_ComIrqReg = const(0x04)
_DivIrqReg = const(0x05)
_ErrorReg = const(0x06)
_FIFODataReg = const(0x09)
_FIFOLevelReg = const(0x0A)
_ControlReg = const(0x0C)
_BitFramingReg = const(0x0D)
_CollReg = const(0x0E)
_ModeReg = const(0x11)
_TxModeReg = const(0x12)
_RxModeReg = const(0x13)
_TxControlReg = const(0x14)
_TxASKReg = const(0x15)
_ModWidthReg = const(0x24)
_TModeReg = const(0x2A)
_TPrescalerReg = const(0x2B)
_TReloadRegH = const(0x2C)
_TReloadRegL = const(0x2D)
_VersionReg = const(0x37)

# PCD commands
_CMD_IDLE = const(0x00)
_CMD_TRANSCEIVE = const(0x0C)
_CMD_SOFTRESET = const(0x0F)
_POWER_DOWN = const(0x10)

# PICC commands (ISO 14443-3)
_PICC_REQA = const(0x26)
_PICC_WUPA = const(0x52)
_PICC_HLTA = const(0x50)
PICC_SEL = (0x93, 0x95, 0x97)  # cascade levels 1, 2, 3
_SAK_UID_INCOMPLETE = const(0x04)

# Results of one exchange / one read
OK = const(0)
NO_CARD = const(1)  # the timer ran out: nothing answered
ERROR = const(2)  # parity, protocol, buffer overflow or a malformed answer
COLLISION = const(3)  # more than one card answered and no valid position
CRC_ERROR = const(4)
BCC_ERROR = const(5)
STALLED = const(6)  # the chip never raised an interrupt: bus or chip fault

# ErrorReg bits
_ERR_BUFFER_OVFL = const(0x10)
_ERR_COLL = const(0x08)
_ERR_PARITY = const(0x02)
_ERR_PROTOCOL = const(0x01)
# ComIrqReg bits
_IRQ_RX = const(0x20)
_IRQ_IDLE = const(0x10)
_IRQ_ERR = const(0x02)
_IRQ_TIMER = const(0x01)

# The chip's own timer ends a silent exchange after 10 ms (TPrescaler 0xA9 ->
# 40 kHz, reload 400); this bound only catches a chip that never answers.
IRQ_POLLS = const(2000)
_ANSWER_TICKS = const(400)  # 10 ms at 25 us per tick
_HALT_TICKS = const(40)  # 1 ms: HLTA has no answer to wait for


class ReaderError(Exception):
    pass


def crc_a(buf, n):
    """ISO 14443-3 CRC_A over buf[0:n]; sent low byte first."""
    crc = 0x6363
    for i in range(n):
        b = (buf[i] ^ crc) & 0xFF
        b = (b ^ (b << 4)) & 0xFF
        crc = ((crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)) & 0xFFFF
    return crc


class MFRC522:
    def __init__(self, spi, cs, rst=None, wakeup=True, halt=True):
        self.spi = spi
        self.cs = cs
        self.rst = rst
        self.wakeup = wakeup
        self.halt = halt
        self._w2 = bytearray(2)
        self._r2 = bytearray(2)
        # SPI frame for the FIFO: address byte, then SEL NVB 4xUID BCC CRC CRC.
        self._txf = bytearray(13)
        self._txf[0] = (_FIFODataReg << 1) & 0x7E
        mv = memoryview(self._txf)
        self._tx = mv[1:]
        self._txv = tuple(mv[0:k + 1] for k in range(13))
        self._rx = bytearray(16)  # a card answers at most 5 bytes here
        self._cl = bytearray(5)  # UID CLn + BCC of the current cascade level
        self._uid = bytearray(10)
        self._rx_len = 0
        self._rx_bits = 0
        self.uid_len = 0
        self.sak = 0
        self.status = NO_CARD  # of the last read_uid(), for diagnostics
        self.errors = 0  # reads that found a card but failed (any reason but NO_CARD)
        self.version = None
        cs.value(1)

    # -- register access over SPI (datasheet 8.1.2) --------------------------
    def _wreg(self, reg, val):
        b = self._w2
        b[0] = (reg << 1) & 0x7E
        b[1] = val
        self.cs.value(0)
        self.spi.write(b)
        self.cs.value(1)

    def _rreg(self, reg):
        b = self._w2
        b[0] = 0x80 | ((reg << 1) & 0x7E)
        b[1] = 0
        self.cs.value(0)
        self.spi.write_readinto(b, self._r2)
        self.cs.value(1)
        return self._r2[1]

    def _setbits(self, reg, mask):
        self._wreg(reg, self._rreg(reg) | mask)

    def _clearbits(self, reg, mask):
        self._wreg(reg, self._rreg(reg) & (~mask & 0xFF))

    def _write_tx(self, n):
        # One chip-select frame: FIFODataReg address, then n data bytes, all of
        # which the chip pushes into its FIFO. Pre-sliced views: no allocation.
        self.cs.value(0)
        self.spi.write(self._txv[n])
        self.cs.value(1)

    # -- init ----------------------------------------------------------------
    def reset(self):
        if self.rst is not None:
            self.rst.value(0)
            self.rst.value(1)
        self._wreg(_CommandReg, _CMD_SOFTRESET)
        for _ in range(IRQ_POLLS):
            if not self._rreg(_CommandReg) & _POWER_DOWN:
                break
        else:
            raise ReaderError("MFRC522 did not leave soft reset: check 3.3 V, RST and the SPI wiring")

    def init(self):
        """Reset and configure the chip; returns its version byte."""
        self.reset()
        v = self._rreg(_VersionReg)
        if v in (0x00, 0xFF):
            raise ReaderError("MFRC522 answers 0x%02X: no chip on the bus, check MISO/SCK/SDA(CS) wiring" % v)
        self.version = v
        self._wreg(_TxModeReg, 0x00)  # 106 kBd, no hardware CRC: we add CRC_A ourselves
        self._wreg(_RxModeReg, 0x00)
        self._wreg(_ModWidthReg, 0x26)
        self._wreg(_TModeReg, 0x80)  # timer starts at the end of every transmission
        self._wreg(_TPrescalerReg, 0xA9)  # 13.56 MHz / (2*169+1) = 40 kHz: 25 us per tick
        # 400 ticks = 10 ms for a card to answer: cards answer anticollision and
        # SELECT after ~0.1 ms; this wait is what a poll without a card costs.
        self._wreg(_TReloadRegH, _ANSWER_TICKS >> 8)
        self._wreg(_TReloadRegL, _ANSWER_TICKS & 0xFF)
        self._wreg(_TxASKReg, 0x40)  # 100 % ASK, as ISO 14443-A wants
        self._wreg(_ModeReg, 0x3D)  # CRC preset 0x6363
        self._setbits(_TxControlReg, 0x03)  # antenna on
        return v

    def antenna(self, on):
        if on:
            self._setbits(_TxControlReg, 0x03)
        else:
            self._clearbits(_TxControlReg, 0x03)

    # -- one exchange with the card ------------------------------------------
    def _transceive(self, n_tx, tx_last_bits, rx_align):
        """Send self._tx[0:n_tx] (only tx_last_bits of the last byte when > 0)
        and receive into self._rx. -> OK, NO_CARD, COLLISION, ERROR, STALLED."""
        # self._wreg(...) calls, not w = self._wreg: a bound method stored in a
        # local is a heap object, and this runs on every poll.
        self._wreg(_CommandReg, _CMD_IDLE)
        self._wreg(_ComIrqReg, 0x7F)  # clear every interrupt request bit
        self._wreg(_FIFOLevelReg, 0x80)  # flush the FIFO
        self._write_tx(n_tx)
        framing = (rx_align << 4) | tx_last_bits
        self._wreg(_BitFramingReg, framing)
        self._wreg(_CommandReg, _CMD_TRANSCEIVE)
        self._wreg(_BitFramingReg, 0x80 | framing)  # StartSend
        for _ in range(IRQ_POLLS):
            irq = self._rreg(_ComIrqReg)
            if irq & (_IRQ_RX | _IRQ_IDLE):
                break
            if irq & _IRQ_TIMER:
                return NO_CARD
        else:
            return STALLED
        err = self._rreg(_ErrorReg)
        if err & (_ERR_BUFFER_OVFL | _ERR_PARITY | _ERR_PROTOCOL):
            return ERROR
        n = self._rreg(_FIFOLevelReg) & 0x7F
        if n > len(self._rx):
            return ERROR
        rx = self._rx
        for i in range(n):
            rx[i] = self._rreg(_FIFODataReg)
        self._rx_len = n
        self._rx_bits = self._rreg(_ControlReg) & 0x07
        if err & _ERR_COLL:
            return COLLISION
        return OK

    def _request(self):
        self._tx[0] = _PICC_WUPA if self.wakeup else _PICC_REQA
        st = self._transceive(1, 7, 0)
        if st == COLLISION:
            return OK  # several cards answered ATQA: anticollision sorts them out
        if st == OK and (self._rx_len != 2 or self._rx_bits):
            return ERROR  # an ATQA is exactly 16 bits
        return st

    def _anticollision(self, sel):
        """Fill self._cl with the UID CLn + BCC of one card at this level."""
        cl = self._cl
        tx = self._tx
        known = 0  # valid UID bits of this level
        for _ in range(33):  # each collision fixes at least one more bit
            whole = known >> 3
            last = known & 7
            tx[0] = sel
            tx[1] = ((2 + whole) << 4) | last  # NVB
            n_tx = 2 + whole + (1 if last else 0)
            for i in range(n_tx - 2):
                tx[2 + i] = cl[i]
            st = self._transceive(n_tx, last, last)
            if st != OK and st != COLLISION:
                return st
            # The FIFO holds the card's remaining bits, the first one at bit
            # position `last` of the first byte: merge it behind the known bits.
            if whole + self._rx_len > 5:
                return ERROR
            rx = self._rx
            for i in range(self._rx_len):
                if i == 0 and last:
                    keep = (1 << last) - 1
                    cl[whole] = (cl[whole] & keep) | (rx[0] & ~keep & 0xFF)
                else:
                    cl[whole + i] = rx[i]
            if st == OK:
                if whole + self._rx_len != 5 or self._rx_bits:
                    return ERROR  # UID CLn + BCC is exactly 40 bits
                return OK
            coll = self._rreg(_CollReg)
            if coll & 0x20:  # CollPosNotValid
                return COLLISION
            pos = coll & 0x1F
            if pos == 0:
                pos = 32
            # CollPos counts the bits of the received frame from 1 (datasheet
            # 9.3.1.15): the bits before it are valid, and we pick the card
            # whose colliding bit is 1 (ISO 14443-3 6.5.3.3, a "typical" choice).
            bit = known + pos - 1
            if bit >= 32:
                return COLLISION  # cards differ only in the BCC: impossible for valid UIDs
            cl[bit >> 3] |= 1 << (bit & 7)
            known = bit + 1
        return ERROR

    def _select(self, sel):
        tx = self._tx
        cl = self._cl
        tx[0] = sel
        tx[1] = 0x70  # NVB: 7 whole bytes, a SELECT
        for i in range(5):
            tx[2 + i] = cl[i]
        crc = crc_a(tx, 7)
        tx[7] = crc & 0xFF
        tx[8] = crc >> 8
        st = self._transceive(9, 0, 0)
        if st != OK:
            return st
        if self._rx_len != 3 or self._rx_bits:
            return ERROR  # SAK + CRC_A
        crc = crc_a(self._rx, 1)
        if self._rx[1] != crc & 0xFF or self._rx[2] != crc >> 8:
            return CRC_ERROR
        self.sak = self._rx[0]
        return OK

    def _halt(self):
        tx = self._tx
        tx[0] = _PICC_HLTA
        tx[1] = 0
        crc = crc_a(tx, 2)
        tx[2] = crc & 0xFF
        tx[3] = crc >> 8
        # A halted card never answers, so this exchange always runs the timer
        # out: 1 ms instead of 10 keeps 9 ms off the tap -> feedback path.
        self._wreg(_TReloadRegH, 0)
        self._wreg(_TReloadRegL, _HALT_TICKS)
        self._transceive(4, 0, 0)  # NO_CARD is success here
        self._wreg(_TReloadRegH, _ANSWER_TICKS >> 8)
        self._wreg(_TReloadRegL, _ANSWER_TICKS & 0xFF)

    def _read(self):
        st = self._request()
        if st != OK:
            return st
        n = 0
        for level in range(3):
            sel = PICC_SEL[level]
            st = self._anticollision(sel)
            if st != OK:
                return st
            cl = self._cl
            if cl[0] ^ cl[1] ^ cl[2] ^ cl[3] != cl[4]:
                return BCC_ERROR
            st = self._select(sel)
            if st != OK:
                return st
            if self.sak & _SAK_UID_INCOMPLETE:
                # Cascade tag + 3 UID bytes; the rest comes at the next level.
                for i in range(1, 4):
                    self._uid[n] = cl[i]
                    n += 1
                continue
            for i in range(4):
                self._uid[n] = cl[i]
                n += 1
            self.uid_len = n
            return OK
        return ERROR  # SAK still says incomplete after cascade level 3

    def read_uid(self):
        """UID bytes of the card on the reader, in reader order, or None (no
        card, or a failed read: see .status). A card whose read failed half way
        is left READY and ignores the next wake-up, so it reads again on the
        second poll after the failure."""
        st = self._read()
        self.status = st
        if st == OK:
            if self.halt:
                self._halt()
            return bytes(self._uid[0:self.uid_len])
        if st != NO_CARD:
            self.errors += 1
        return None
