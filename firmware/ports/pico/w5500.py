# WIZnet W5500 in its own TCP/IP offload mode, over machine.SPI, for an
# image without MicroPython's network.WIZNET5K (Debian's MicroPython source
# drops lib/wiznet5k; docs/rp2040-emulation.md, "The wired variant"). The
# chip carries TCP; this module moves bytes between its socket buffers and
# the program. It is also a `socket` module (getaddrinfo, socket, AF_INET,
# SOCK_STREAM): hw.py registers it as sys.modules["socket"] when the image
# has no network stack, so chumicro's MicroPython adapter (and mbedTLS's
# ssl.wrap_socket, through io.IOBase's stream protocol) run on it unchanged.
# TCP client sockets only: no UDP, so no DHCP and no DNS (a static
# kiosk.json "ethernet" and a broker given as an IP address).
# Register map: W5500 datasheet v1.1, sections 2.2 (SPI frame) and 4.

import errno
import io
import time

from micropython import const

_MR = const(0x00)
_GAR = const(0x01)
_SUBR = const(0x05)
_SHAR = const(0x09)
_SIPR = const(0x0F)
_PHYCFGR = const(0x2E)
_VERSIONR = const(0x39)
_Sn_MR = const(0x00)
_Sn_CR = const(0x01)
_Sn_IR = const(0x02)
_Sn_SR = const(0x03)
_Sn_PORT = const(0x04)
_Sn_DIPR = const(0x0C)
_Sn_DPORT = const(0x10)
_Sn_TX_FSR = const(0x20)
_Sn_TX_WR = const(0x24)
_Sn_RX_RSR = const(0x26)
_Sn_RX_RD = const(0x28)
_CR_OPEN = const(0x01)
_CR_CONNECT = const(0x04)
_CR_DISCON = const(0x08)
_CR_CLOSE = const(0x10)
_CR_SEND = const(0x20)
_CR_RECV = const(0x40)
_IR_CON = const(0x01)
_IR_TIMEOUT = const(0x08)
_IR_SENDOK = const(0x10)
_SR_CLOSED = const(0x00)
_SR_INIT = const(0x13)
_SR_ESTABLISHED = const(0x17)
_SR_CLOSE_WAIT = const(0x1C)
_MR_TCP = const(0x01)
_SOCKETS = const(8)
_STREAM_POLL = const(3)  # MicroPython's MP_STREAM_POLL / MP_STREAM_CLOSE (py/stream.h)
_STREAM_CLOSE = const(4)
_POLLIN = const(0x01)
_POLLOUT = const(0x04)
_POLLERR = const(0x08)
_POLLHUP = const(0x10)
RESET_MS = 2  # RSTn held low >= 500 us, then the PLL locks within 1 ms (datasheet 5.5.1)
CR_WAIT_MS = 100  # Sn_CR reads 0 once the chip took a command: microseconds on the chip
LOCAL_PORT_BASE = 49152  # ephemeral ports (RFC 6335), one more per connection

AF_INET = 2
SOCK_STREAM = 1

_chip = None  # the W5500 the `socket` functions use (set by WIZNET5K)
# on_read(): called as a socket read starts, or None. The heap trace
# (main.py "trace_heap") samples the heap there: a TLS handshake runs inside
# one C call of mbedTLS, whose only Python code is these reads.
on_read = None


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):  # noqa: A002 (socket's signature)
    """IPv4 literals only: the chip's offload mode has no resolver here."""
    if _ip_bytes(host) is None:
        raise OSError(errno.EINVAL, "W5500 driver: no DNS, give the broker as an IP address: " + str(host))
    return [(AF_INET, SOCK_STREAM, 0, "", (host, port))]


def socket(af=AF_INET, type=SOCK_STREAM, proto=0):  # noqa: A002
    if _chip is None:
        raise OSError(errno.ENODEV, "W5500 not initialised")
    if type != SOCK_STREAM:
        raise OSError(errno.EOPNOTSUPP, "W5500 driver: TCP only")
    return Socket(_chip)


def _ip_bytes(text):
    parts = str(text).split(".")
    if len(parts) != 4:
        return None
    try:
        b = bytes(int(p) for p in parts)
    except ValueError:
        return None
    return b


class W5500:
    """The chip: register access over SPI, frames of (address, control, data)."""

    def __init__(self, spi, cs, rst=None):
        self.spi = spi
        self.cs = cs
        self._hdr = bytearray(3)
        self._b2 = bytearray(2)
        self._free = [True] * _SOCKETS
        self._port = LOCAL_PORT_BASE
        if rst is not None:
            rst.value(0)
            time.sleep_ms(RESET_MS)
            rst.value(1)
            time.sleep_ms(RESET_MS)
        self.write8(0, _MR, 0x80)  # software reset: every socket closed
        deadline = time.ticks_add(time.ticks_ms(), CR_WAIT_MS)
        while self.read8(0, _MR) & 0x80:
            if time.ticks_diff(deadline, time.ticks_ms()) < 0:
                raise OSError(errno.ETIMEDOUT, "W5500 reset did not finish")
        if self.read8(0, _VERSIONR) != 0x04:
            raise OSError(errno.ENODEV, "no W5500 on SPI (VERSIONR is not 0x04)")

    def _frame(self, block, addr, write, data=None, into=None):
        h = self._hdr
        h[0] = addr >> 8
        h[1] = addr & 0xFF
        h[2] = (block << 3) | (0x04 if write else 0)
        self.cs.value(0)
        try:
            self.spi.write(h)
            if data is not None:
                self.spi.write(data)
            if into is not None:
                self.spi.readinto(into, 0)
        finally:
            self.cs.value(1)

    def read8(self, block, addr):
        b = self._b2
        self._frame(block, addr, False, into=memoryview(b)[:1])
        return b[0]

    def write8(self, block, addr, v):
        b = self._b2
        b[0] = v
        self._frame(block, addr, True, data=memoryview(b)[:1])

    def read16(self, block, addr):
        b = self._b2
        self._frame(block, addr, False, into=b)
        return (b[0] << 8) | b[1]

    def write16(self, block, addr, v):
        b = self._b2
        b[0] = (v >> 8) & 0xFF
        b[1] = v & 0xFF
        self._frame(block, addr, True, data=b)

    def read16_stable(self, block, addr):
        # FSR/RSR change while the chip works: read until two reads agree (datasheet 4.2).
        v = self.read16(block, addr)
        while True:
            w = self.read16(block, addr)
            if w == v:
                return v
            v = w

    def read(self, block, addr, n):
        out = bytearray(n)
        self._frame(block, addr, False, into=out)
        return out

    def write(self, block, addr, data):
        self._frame(block, addr, True, data=data)

    def link(self):
        return bool(self.read8(0, _PHYCFGR) & 0x01)

    def command(self, n, cmd):
        blk = 4 * n + 1
        self.write8(blk, _Sn_CR, cmd)
        deadline = time.ticks_add(time.ticks_ms(), CR_WAIT_MS)
        while self.read8(blk, _Sn_CR):
            if time.ticks_diff(deadline, time.ticks_ms()) < 0:
                raise OSError(errno.EIO, "W5500 did not take a socket command")

    def allocate(self):
        for n in range(_SOCKETS):
            if self._free[n]:
                self._free[n] = False
                return n
        raise OSError(errno.ENOMEM, "W5500: all 8 sockets in use")

    def release(self, n):
        self._free[n] = True

    def next_port(self):
        self._port = LOCAL_PORT_BASE if self._port >= 65535 else self._port + 1
        return self._port


class Socket(io.IOBase):
    """One TCP client socket of the chip: MicroPython's socket methods the
    kiosk uses (connect, send, write, recv, readinto, setblocking,
    settimeout, close) and the stream ioctl select.poll and ssl need."""

    def __init__(self, chip):
        self.chip = chip
        self.n = chip.allocate()
        self.blk = 4 * self.n + 1
        self.timeout_ms = None  # None: blocking without end; 0: non-blocking
        self._connecting = False
        self._sending = False  # a SEND not yet confirmed by Sn_IR.SEND_OK
        self._closed = False

    # -- options -------------------------------------------------------------
    def setblocking(self, flag):
        self.timeout_ms = None if flag else 0

    def settimeout(self, t):
        self.timeout_ms = None if t is None else int(t * 1000)

    def _wait(self, ready, what):
        """Blocking mode: poll the chip until ready() (or the timeout)."""
        start = time.ticks_ms()
        while not ready():
            if self.timeout_ms is not None and time.ticks_diff(time.ticks_ms(), start) >= self.timeout_ms:
                raise OSError(errno.ETIMEDOUT, what)
            time.sleep_ms(1)

    def _status(self):
        return self.chip.read8(self.blk, _Sn_SR)

    # -- connect ---------------------------------------------------------------
    def connect(self, addr):
        host, port = addr
        ip = _ip_bytes(host)
        if ip is None:
            raise OSError(errno.EINVAL, "W5500 driver: not an IPv4 address: " + str(host))
        c = self.chip
        c.write8(self.blk, _Sn_MR, _MR_TCP)
        c.write16(self.blk, _Sn_PORT, c.next_port())
        c.command(self.n, _CR_OPEN)
        if self._status() != _SR_INIT:
            raise OSError(errno.EIO, "W5500 socket did not open")
        c.write(self.blk, _Sn_DIPR, ip)
        c.write16(self.blk, _Sn_DPORT, port)
        c.write8(self.blk, _Sn_IR, 0xFF)
        c.command(self.n, _CR_CONNECT)
        self._connecting = True
        if self.timeout_ms == 0:
            raise OSError(errno.EINPROGRESS, "connecting")
        self._wait(lambda: self._connect_done() is not None, "TCP connect")
        if not self._connect_done():
            raise OSError(errno.ECONNREFUSED, "TCP connect failed")

    def _connect_done(self):
        """None while the SYN is out, True connected, False refused/timed out."""
        sr = self._status()
        if sr == _SR_ESTABLISHED or sr == _SR_CLOSE_WAIT:
            self._connecting = False
            return True
        if sr == _SR_CLOSED or self.chip.read8(self.blk, _Sn_IR) & _IR_TIMEOUT:
            self._connecting = False
            return False
        return None

    # -- send ------------------------------------------------------------------
    def _room(self):
        """Bytes the TX buffer takes now (0 while the last SEND is out)."""
        c = self.chip
        if self._sending:
            ir = c.read8(self.blk, _Sn_IR)
            if not ir & _IR_SENDOK:
                if self._status() != _SR_ESTABLISHED:
                    raise OSError(errno.ECONNRESET, "connection closed")
                return 0
            c.write8(self.blk, _Sn_IR, _IR_SENDOK)
            self._sending = False
        if self._status() != _SR_ESTABLISHED:
            raise OSError(errno.ENOTCONN if self._connecting else errno.ECONNRESET, "not connected")
        return c.read16_stable(self.blk, _Sn_TX_FSR)

    def _send(self, data):
        """-> bytes taken, or None when the chip has no room (would block)."""
        room = self._room()
        if not room:
            if self.timeout_ms == 0:
                return None
            self._wait(lambda: self._room() > 0, "send")
            room = self._room()
        n = min(room, len(data))
        c = self.chip
        wr = c.read16(self.blk, _Sn_TX_WR)
        c.write(4 * self.n + 2, wr, memoryview(data)[:n])  # the chip wraps the buffer itself
        c.write16(self.blk, _Sn_TX_WR, (wr + n) & 0xFFFF)
        c.command(self.n, _CR_SEND)
        self._sending = True
        return n

    def send(self, data):
        n = self._send(data)
        if n is None:
            raise OSError(errno.EAGAIN, "would block")
        return n

    def write(self, data):  # the stream protocol (ssl): None means would block
        return self._send(data)

    def sendall(self, data):
        mv = memoryview(data)
        while mv:
            n = self._send(mv)
            if n:
                mv = mv[n:]

    # -- receive ---------------------------------------------------------------
    def _available(self):
        """-> bytes waiting, 0 when none yet, -1 at the end of the stream."""
        n = self.chip.read16_stable(self.blk, _Sn_RX_RSR)
        if n:
            return n
        return 0 if self._status() == _SR_ESTABLISHED else -1

    def readinto(self, buf, size=-1):
        """-> bytes read, 0 at the end of the stream, None when none yet (non-blocking)."""
        if on_read is not None:
            on_read()
        want = len(buf) if size is None or size < 0 else min(size, len(buf))
        if not want:
            return 0
        avail = self._available()
        if avail == 0:
            if self.timeout_ms == 0:
                return None
            self._wait(lambda: self._available() != 0, "recv")
            avail = self._available()
        if avail < 0:
            return 0
        n = min(avail, want)
        c = self.chip
        rd = c.read16(self.blk, _Sn_RX_RD)
        c._frame(4 * self.n + 3, rd, False, into=memoryview(buf)[:n])
        c.write16(self.blk, _Sn_RX_RD, (rd + n) & 0xFFFF)
        c.command(self.n, _CR_RECV)
        return n

    def recv(self, n):
        buf = bytearray(n)
        got = self.readinto(buf)
        if got is None:
            raise OSError(errno.EAGAIN, "would block")
        return bytes(buf[:got])

    # -- stream ioctl: select.poll and ssl --------------------------------------
    def ioctl(self, req, arg):
        if req == _STREAM_POLL:
            if self._closed:
                return _POLLHUP
            try:
                if self._connecting:
                    done = self._connect_done()
                    if done is None:
                        return 0
                    if not done:
                        return _POLLERR | _POLLHUP
                out = 0
                if arg & _POLLIN and self._available():
                    out |= _POLLIN
                if arg & _POLLOUT and self._room():
                    out |= _POLLOUT
                return out
            except OSError:
                return _POLLERR | _POLLHUP
        if req == _STREAM_CLOSE:
            self.close()
            return 0
        return -errno.EINVAL

    def close(self):
        if self._closed:
            return
        self._closed = True
        c = self.chip
        try:
            if self._status() == _SR_ESTABLISHED:
                c.command(self.n, _CR_DISCON)  # a FIN to the server, not a reset
            c.command(self.n, _CR_CLOSE)
            c.write8(self.blk, _Sn_IR, 0xFF)
        except OSError:  # the chip did not answer: the socket is ours again anyway
            pass
        c.release(self.n)


class WIZNET5K:
    """The subset of MicroPython's network.WIZNET5K the Pico port uses:
    active, isconnected (the PHY link), ifconfig (static only: no DHCP
    without UDP), config("mac")."""

    def __init__(self, spi, cs, rst=None, mac=None):
        global _chip
        self.chip = W5500(spi, cs, rst)
        _chip = self.chip
        if mac is None:
            import machine
            uid = machine.unique_id()
            mac = b"\x02\x08\xdc" + bytes(uid[-3:])  # WIZnet's OUI, locally administered bit set
        self.mac = bytes(mac)
        self.chip.write(0, _SHAR, self.mac)
        self._active = False

    def active(self, on=None):
        if on is not None:
            self._active = bool(on)
        return self._active

    def isconnected(self):
        return self.chip.link()

    def ifconfig(self, cfg=None):
        c = self.chip
        if cfg is None:
            return tuple(".".join(str(b) for b in c.read(0, a, 4)) for a in (_SIPR, _SUBR, _GAR, _GAR))
        if cfg == "dhcp":
            raise OSError(errno.EOPNOTSUPP, "the frozen W5500 driver has no DHCP: set kiosk.json ethernet.ip")
        ip, mask, gw, _dns = cfg
        for addr, text in ((_SIPR, ip), (_SUBR, mask), (_GAR, gw)):
            b = _ip_bytes(text)
            if b is None:
                raise ValueError("not an IPv4 address: " + str(text))
            c.write(0, addr, b)
        return None

    def config(self, name):
        if name == "mac":
            return self.mac
        raise ValueError("unknown config " + str(name))
