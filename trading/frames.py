"""What a live page may send over its socket, checked before anything is parsed.

The socket only pushes updates; the browser has nothing to say on it. Still,
every frame gets a clear answer instead of a dropped socket or a traceback, and
nothing a visitor sends can make the server parse megabytes or recurse deeply
(``json.loads("[" * 5000)`` raises ``RecursionError``).
"""

from __future__ import annotations

import json

MAX_FRAME_BYTES = 4096
MAX_DEPTH = 16


def nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, ignoring brackets inside strings.

    Linear and iterative, so it is safe on any input that passed the size cap.
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def frame_error(text_data: str | None, bytes_data: bytes | None) -> str:
    """The error to answer a frame from the browser with (there is always one)."""
    if bytes_data is not None or text_data is None:
        return "binary frames are not accepted"
    if len(text_data.encode("utf-8", errors="replace")) > MAX_FRAME_BYTES:
        return f"frame too large: at most {MAX_FRAME_BYTES} bytes"
    if nesting_depth(text_data) > MAX_DEPTH:
        return f"frame nested too deeply: at most {MAX_DEPTH} levels"
    try:
        json.loads(text_data)
    except (ValueError, RecursionError):
        return "frames must be JSON"
    return "this socket only sends updates; it takes no commands"
