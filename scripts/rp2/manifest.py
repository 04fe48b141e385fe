# Frozen modules of the NoxusTime rp2 firmware: the port's own modules and
# asyncio. micropython-lib (onewire, dht, neopixel...) is not packaged in
# Debian, and the kiosk needs none of it.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
