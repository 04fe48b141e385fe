"""NoxusTime backend."""
