# Fleet management on the kiosk: retained config, commands, crash log.
# Imported on first use, so they cost no heap until a message arrives.
