"""Clean mode: undo the decoration around a pasted address (display name, angle brackets,
mailto:, comments, quotes, stray punctuation and blanks) before the syntax stage parses it.

Pure and synchronous; never raises and never judges: what it returns is parsed by engine.syntax.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CLEAN_INPUT", "clean_address"]

# Clean mode looks at lines up to this long: room for a display name, a comment and spaces.
# A longer line is not one decorated address; it is parsed as given and refused for its length.
MAX_CLEAN_INPUT = 1024

# Never part of an address (engine.syntax refuses them); clean mode leaves an input holding one
# other than a tab as it is, so that parsing fails: C0 and C1 controls, DEL, the Unicode line and
# paragraph separators, and lone surrogates (undecodable bytes kept by surrogateescape).
_FORBIDDEN_BUT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

# Clean mode: blanks around and between the tokens of a pasted address (RFC 5322 §3.2.2 FWS),
# plus the no-break space, zero-width space and byte-order mark that copying text drags along.
_BLANKS = " \t\u00a0\u200b\ufeff"
_BLANK_RUN = re.compile(f"[{_BLANKS}]+")
# Can never start an address: a dot-atom does not start with a dot (RFC 5322 §3.2.3), and these
# specials are not atext. Quotes are handled apart: a leading '"' may open a quoted local part.
_LEADING_JUNK = ".,;:()<>[]"
# Can never end an address: a domain ends with a letter or digit, or "]" for a literal.
_TRAILING_JUNK = ".,;:!?'\"()<>[]{}"
_TRAILING_JUNK_BUT_BRACKET = _TRAILING_JUNK.replace("]", "")
_MAILTO = "mailto:"  # RFC 6068 §2


def clean_address(raw: str) -> str:
    """Undo the usual decoration around a pasted address; never raises.

    Strips surrounding blanks, a display name and angle brackets (`Name <a@b>`), a leading
    `mailto:` (any case) and its `?query`, a trailing or leading `(comment)`, quotes wrapping
    the whole address, stray punctuation at either end, and blanks between tokens outside a
    quoted local part. Control characters are never cleaned away: an input holding one (other
    than a tab) comes back unchanged, so parsing it fails.
    """
    if len(raw) > MAX_CLEAN_INPUT or _FORBIDDEN_BUT_TAB.search(raw):
        return raw
    text = raw.strip(_BLANKS)
    # RFC 5322 §3.4 name-addr: keep the angle-addr and drop the display name around it.
    # Only when nothing but punctuation follows the ">": a quoted local part may hold "<" or ">".
    start = text.rfind("<")
    end = text.find(">", start + 1)
    if start >= 0 and end > start and not text[end + 1 :].strip(_BLANKS + _TRAILING_JUNK):
        text = text[start + 1 : end]
    previous = None
    while text != previous:
        previous = text
        text = text.strip(_BLANKS)
        if text[: len(_MAILTO)].lower() == _MAILTO:
            # RFC 6068 §2: "?" starts the header fields of a mailto URI.
            text = text[len(_MAILTO) :].split("?", 1)[0]
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            text = text[1:-1]
        # RFC 5322 §3.2.2 comments are not part of the addr-spec.
        if text.endswith(")") and not text.startswith("(") and "(" in text:
            text = text[: text.rfind("(")]
        elif text.startswith("(") and not text.endswith(")") and ")" in text:
            text = text[text.find(")") + 1 :]
        text = text.lstrip(_LEADING_JUNK)
        # A domain literal ends with its "]" (RFC 5321 §4.1.3); a quote matching the first
        # character stays for the wrapping-quote rule on the next round.
        junk = _TRAILING_JUNK_BUT_BRACKET if "@[" in text else _TRAILING_JUNK
        if text[:1] in ("'", '"'):
            junk = junk.replace(text[0], "")
        text = text.rstrip(junk)
    return _drop_inner_blanks(text)


def _drop_inner_blanks(text: str) -> str:
    """Remove blanks outside a quoted local part; inside quotes a space is content."""
    if '"' not in text:
        return _BLANK_RUN.sub("", text)
    pieces: list[str] = []
    quoted = escaped = False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in _BLANKS:
            continue
        pieces.append(char)
    return "".join(pieces)
