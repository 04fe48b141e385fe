# Optional kiosk UI: display layout, LED/buzzer patterns, badge names. Loaded
# only by kiosks with that hardware, so a headless kiosk does not pay the heap.
