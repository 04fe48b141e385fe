# A seeded random source in [0, 1), identical on CPython and MicroPython: the
# reconnect backoff's jitter in the portable checks. MicroPython-compatible.


class Lcg:
    def __init__(self, seed):
        self.x = seed & 0x7FFFFFFF

    def __call__(self):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) / (1 << 23)
