"""How the gateway listens: uvicorn's httptools HTTP/1.1 protocol with the limits of a production front door.

Plain uvicorn bounds neither the request head nor the time a client may take to send it (llhttp does
not limit either), so a few clients can make the process buffer gigabytes of headers or hold connections
open for ever. ``FrontDoorProtocol`` adds, per connection:

* the size of the request head (431) and its number of header fields (431), and the length of the request
  target (414), counted as bytes arrive: a head is fed to the parser at most up to the bytes still allowed,
  so nothing past a limit is ever buffered;
* a deadline for the head, from the connection opening or the previous response finishing (408 when a
  request had begun, else a quiet close), and one for the body once the head is in (408);
* a cap on open connections (503 as soon as one too many is accepted) and on requests in progress (503;
  it replaces uvicorn's ``limit_concurrency`` check, which answers text and counts a connection against
  itself).

A refusal is a short JSON error in OpenAI's shape with ``connection: close``, sent at once (after the
responses still owed on the connection, when pipelined), and the connection closes. ``server_config``
builds the uvicorn config the gateway runs with; ``FrontDoorLimits.from_settings`` reads the limits from
the ``BYOKGATE_*`` settings.
"""

from byokgate.serving.config import ensure_file_limit, server_config
from byokgate.serving.limits import DEFAULT_LIMITS, FrontDoorLimits
from byokgate.serving.protocol import FrontDoorProtocol, protocol_for

__all__ = [
    "DEFAULT_LIMITS",
    "FrontDoorLimits",
    "FrontDoorProtocol",
    "ensure_file_limit",
    "protocol_for",
    "server_config",
]
