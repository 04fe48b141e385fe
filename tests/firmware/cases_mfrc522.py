# The real MFRC522 driver against the fake chip: cases run under CPython (by
# pytest directly) and under the MicroPython Unix port (through mprun.py).
# Portable on purpose: no f-strings with =, no typing, no pytest.

from fake_mfrc522 import FakeCard, FakeMFRC522, FakePin

from firmware.core import mfrc522 as M
from firmware.core.protocol import uid_hex


def reader(wakeup=True, halt=True, version=0x92):
    chip = FakeMFRC522(version)
    drv = M.MFRC522(chip.spi, chip.cs, FakePin(), wakeup=wakeup, halt=halt)
    drv.init()
    return chip, drv


def eq(a, b):
    if a != b:
        raise AssertionError("%r != %r" % (a, b))


def retry(drv):
    # A card whose read failed half way is left READY: it ignores the next
    # wake-up (back to IDLE) and answers the one after. Two polls at most.
    for _ in range(2):
        uid = drv.read_uid()
        if uid is not None:
            return uid_hex(uid)
    return None


def case_crc_a_matches_iso14443_vectors():
    eq(M.crc_a(b"\x50\x00", 2), 0xCD57)  # HLTA is sent as 50 00 57 CD
    eq(M.crc_a(b"\x00\x00", 2), 0x1EA0)
    eq(M.crc_a(b"\x12\x34", 2), 0xCF26)


def case_init_reads_version_and_turns_antenna_on():
    chip, drv = reader()
    eq(drv.version, 0x92)
    eq(chip.regs[0x14] & 0x03, 0x03)
    eq(chip.regs[0x2A], 0x80)  # timer auto-start, so a silent card times out


def case_init_without_chip_says_check_wiring():
    chip = FakeMFRC522(version=0x00)
    drv = M.MFRC522(chip.spi, chip.cs)
    try:
        drv.init()
    except M.ReaderError as e:
        assert "wiring" in str(e), str(e)
        return
    raise AssertionError("no ReaderError")


def case_init_chip_stuck_in_reset_raises():
    chip = FakeMFRC522()
    chip.stuck_in_reset = True
    chip._reset()
    drv = M.MFRC522(chip.spi, chip.cs)
    try:
        drv.init()
    except M.ReaderError as e:
        assert "soft reset" in str(e), str(e)
        return
    raise AssertionError("no ReaderError")


def case_no_card_returns_none_without_error():
    chip, drv = reader()
    for _ in range(5):
        eq(drv.read_uid(), None)
    eq(drv.status, M.NO_CARD)
    eq(drv.errors, 0)


def case_four_byte_uid_in_reader_order():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    uid = drv.read_uid()
    eq(uid_hex(uid), "04A1B2C3")
    eq(drv.sak, 0x08)


def case_seven_byte_uid_cascades_on_sak_and_drops_cascade_tag():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\x11\x22\x33\x44\x55\x66", sak=0x00))
    eq(uid_hex(drv.read_uid()), "04112233445566")
    eq(drv.sak, 0x00)


def case_ten_byte_uid_uses_three_cascade_levels():
    chip, drv = reader()
    card = chip.enter(FakeCard(b"\x04\x01\x02\x03\x04\x05\x06\x07\x08\x09", sak=0x20))
    eq(uid_hex(drv.read_uid()), "04010203040506070809")
    eq(card.level, 2)  # the card went through cascade levels 1, 2 and 3
    eq(chip.last_tx[0][0], 0x50)  # and halted after the SELECT


def case_single_size_uid_starting_with_88_is_not_cascaded():
    # SAK says complete: 0x88 as first byte is data, not a cascade tag.
    chip, drv = reader()
    chip.enter(FakeCard(b"\x88\x12\x34\x56", sak=0x08))
    eq(uid_hex(drv.read_uid()), "88123456")


def case_seven_byte_uid_whose_first_byte_is_88_keeps_it():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x88\x04\x05\x06\x07\x08\x09", sak=0x00))
    eq(uid_hex(drv.read_uid()), "88040506070809")


def case_wrong_bcc_is_rejected_then_next_card_reads():
    chip, drv = reader()
    bad = chip.enter(FakeCard(b"\x04\xa1\xb2\xc3", bad_bcc=True))
    eq(drv.read_uid(), None)
    eq(drv.status, M.BCC_ERROR)
    eq(drv.errors, 1)
    chip.leave(bad)
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    eq(uid_hex(drv.read_uid()), "04A1B2C3")


def case_crc_error_on_sak_is_rejected_and_retry_succeeds():
    chip, drv = reader()
    card = chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    card.bad_sak_crc = 1
    eq(drv.read_uid(), None)
    eq(drv.status, M.CRC_ERROR)
    eq(retry(drv), "04A1B2C3")


def case_parity_error_is_an_error_not_a_uid():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    chip.inject_error = 0x02  # ParityErr on the ATQA
    eq(drv.read_uid(), None)
    eq(drv.status, M.ERROR)
    eq(retry(drv), "04A1B2C3")


def case_buffer_overflow_is_an_error():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    chip.inject_error = 0x10
    eq(drv.read_uid(), None)
    eq(drv.status, M.ERROR)


def case_stalled_chip_returns_none_instead_of_hanging():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    chip.stall = True
    eq(drv.read_uid(), None)
    eq(drv.status, M.STALLED)


def case_two_cards_collide_and_one_is_selected_then_the_other():
    chip, drv = reader()
    a = chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    b = chip.enter(FakeCard(b"\x04\xa1\x32\xc3"))  # differ in bit 7 of byte 2
    first = drv.read_uid()
    # At the colliding bit the driver picks 1: 0xB2 has bit 7 set.
    eq(uid_hex(first), "04A1B2C3")
    chip.leave(a)
    eq(uid_hex(drv.read_uid()), "04A1B2C3" if first != a.uid else "04A132C3")
    del b


def case_collision_at_unaligned_bit_merges_received_bits():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\x0c\x55\x66"))  # byte 1 bits: 0b00001100
    chip.enter(FakeCard(b"\x04\x08\x55\x77"))  # differs at bit 2 of byte 1
    uid = drv.read_uid()
    eq(uid_hex(uid), "040C5566")
    assert chip.last_tx is not None


def case_several_collisions_in_one_level_converge():
    chip, drv = reader()
    uids = (b"\x01\x02\x03\x04", b"\x01\x02\x03\x05", b"\x81\x02\x03\x04", b"\x01\x82\x03\x04")
    cards = [chip.enter(FakeCard(u)) for u in uids]
    seen = []
    for _ in range(len(uids)):
        uid = drv.read_uid()
        assert uid is not None, drv.status
        seen.append(uid)
        for c in cards:
            if c.uid == uid:
                chip.leave(c)
                cards.remove(c)
                break
    eq(sorted(seen), sorted(uids))


def case_seven_byte_cards_colliding_at_cascade_level_two():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\x11\x22\x33\x44\x55\x66", sak=0x00))
    chip.enter(FakeCard(b"\x04\x11\x22\x33\x44\x55\xe6", sak=0x00))
    eq(uid_hex(drv.read_uid()), "041122334455E6")


def case_wakeup_and_halt_reads_a_held_card_on_every_poll():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    got = [drv.read_uid() for _ in range(6)]
    eq([uid_hex(u) if u else None for u in got], ["04A1B2C3"] * 6)


def case_request_without_halt_flickers_every_other_poll():
    # The classic REQA-only loop: a card left ACTIVE ignores the next REQA and
    # falls back to IDLE, so it answers only every other poll.
    chip, drv = reader(wakeup=False, halt=False)
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    got = [drv.read_uid() for _ in range(6)]
    eq([u is not None for u in got], [True, False, True, False, True, False])
    eq(drv.errors, 0)


def case_request_with_halt_reads_a_held_card_once():
    chip, drv = reader(wakeup=False, halt=True)
    card = chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    got = [drv.read_uid() for _ in range(4)]
    eq([u is not None for u in got], [True, False, False, False])
    chip.leave(card)
    chip.enter(card)
    assert drv.read_uid() is not None


def case_card_leaving_mid_read_is_no_card_not_an_error():
    chip, drv = reader()
    card = chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    orig = card.on_frame

    def leave_after_atqa(data, nbits):
        ans = orig(data, nbits)
        if nbits == 7:
            chip.cards.remove(card)
        return ans

    card.on_frame = leave_after_atqa
    eq(drv.read_uid(), None)
    eq(drv.status, M.NO_CARD)
    eq(drv.errors, 0)


def case_every_register_access_is_inside_chip_select():
    # The fake raises on any SPI byte sent with CS high; a FIFO load is one frame.
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    before = chip.frames
    drv.read_uid()
    assert chip.frames > before
    eq(chip.cs.value(), 1)


def case_select_frame_carries_crc_a():
    chip, drv = reader(halt=False)
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    drv.read_uid()
    data, nbits = chip.last_tx
    eq(nbits, 72)
    eq(data[0:2], b"\x93\x70")
    crc = M.crc_a(data, 7)
    eq(data[7] | data[8] << 8, crc)


def case_halt_uses_a_short_timer_and_restores_the_answer_timeout():
    chip, drv = reader()
    chip.enter(FakeCard(b"\x04\xa1\xb2\xc3"))
    drv.read_uid()
    eq(chip.last_tx[0][0], 0x50)
    eq(chip.regs[0x2C] << 8 | chip.regs[0x2D], 400)  # 10 ms again for the next poll
