"""mailprobe: self-hosted email verification without sending mail."""
