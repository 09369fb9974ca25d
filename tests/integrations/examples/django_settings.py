# settings.py (the part for mailprobe)
MAILPROBE = {
    "HELO_NAME": "mx.example.com",  # the name this host gives in EHLO
    "MAIL_FROM": "verify@example.com",  # the probe's MAIL FROM; never receives mail
    "TIMEOUT": 5,  # seconds a form waits for the probe; then the offline verdict
    "REJECT_DISPOSABLE": True,  # on top of undeliverable, which is always refused
}
# In tests: MAILPROBE = {"OFFLINE": True} checks syntax, typos and flags only, no network.
