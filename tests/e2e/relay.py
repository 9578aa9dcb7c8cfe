"""One guest connection to the host's server: QEMU's ``guestfwd=...-cmd:`` runs this per
connection with the guest's bytes on stdin; we pass them to HOST:PORT and back.

This lets the guest reach exactly one host service while its user network is
``restrict=on`` (no other host port, no outside world).
"""

from __future__ import annotations

import os
import socket
import sys
import threading


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    sock = socket.create_connection((host, port), timeout=30)
    sock.settimeout(None)

    def guest_to_host() -> None:
        while data := os.read(0, 65536):
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    threading.Thread(target=guest_to_host, daemon=True).start()
    while data := sock.recv(65536):
        os.write(1, data)
    sock.close()


if __name__ == "__main__":
    main()
