"""Shows how names and addresses are looked up with the socket module.

Usage:
    python3 hostinfo.py <name-or-address>

Examples:
    python3 hostinfo.py localhost
    python3 hostinfo.py 127.0.0.1

It prints, one per line:
  - socket.gethostname():  the name of the machine running this program;
  - socket.gethostbyname(): name -> IPv4 address (an address stays as it is);
  - socket.gethostbyaddr(): address -> (name, other names, addresses),
    the "reverse" lookup, which fails if the address has no name.
"""

import socket
import sys

USAGE = "Usage: hostinfo.py <name-or-address>"


def error(message):
    """Print one error line on stderr and return the exit code for errors (1)."""
    print(message, file=sys.stderr, flush=True)
    return 1


def reason(exc):
    """The readable part of an exception, e.g. 'Unknown host'."""
    return getattr(exc, "strerror", None) or str(exc)


def main(argv):
    if len(argv) != 2:
        return error(USAGE)
    name = argv[1]

    # Forward lookup: name -> address. Without an address there is nothing
    # more to show, so this is an error.
    try:
        address = socket.gethostbyname(name)
    except (OSError, UnicodeError) as exc:
        return error(f"Error: cannot resolve host '{name}': {reason(exc)}")

    print(f"This host: {socket.gethostname()}", flush=True)
    print(f"gethostbyname('{name}') = {address}", flush=True)

    # Reverse lookup: address -> names. Many addresses have no name: that is
    # normal, so we report it and still succeed.
    try:
        info = socket.gethostbyaddr(address)
    except (OSError, UnicodeError) as exc:
        print(f"gethostbyaddr('{address}') failed: {reason(exc)}", flush=True)
        return 0
    # info is a tuple (hostname, aliases, addresses); !r prints it as Python does.
    print(f"gethostbyaddr('{address}') = {info!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
