"""Binding sockets on run-time ports (port 0) on loopback.

The test system never hard-codes a port: it binds port 0 and reads the port back. SIP
wants UDP and TCP on the same port, so :func:`bind_udp_and_tcp` binds UDP on port 0 and
then TCP on the same number, retrying with a fresh port when TCP's is taken.
"""

from __future__ import annotations

import socket

from conformance.errors import LocalProtocolError

DEFAULT_ATTEMPTS = 50


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_udp(host: str, port: int = 0) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_tcp_listener(host: str, port: int = 0, backlog: int = 64) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_udp_and_tcp(
    host: str, port: int = 0, attempts: int = DEFAULT_ATTEMPTS
) -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a listening TCP socket on the same port of ``host``.

    With ``port=0`` the port is chosen by the kernel for UDP first; if TCP cannot bind
    that number, both are released and another port is tried.
    """
    last: OSError | None = None
    for _ in range(attempts if port == 0 else 1):
        udp = bind_udp(host, port)
        chosen = int(udp.getsockname()[1])
        try:
            tcp = bind_tcp_listener(host, chosen)
        except OSError as exc:
            udp.close()
            last = exc
            continue
        return udp, tcp
    raise LocalProtocolError(f"cannot bind UDP and TCP on one port of {host}: {last}")


def pick_free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP right now, for an external server's config file.

    Racy by nature (the port is released before the server binds it); the test system's
    own sockets never use this: they bind port 0.
    """
    udp, tcp = bind_udp_and_tcp(host)
    try:
        return int(udp.getsockname()[1])
    finally:
        udp.close()
        tcp.close()


__all__ = ["bind_tcp_listener", "bind_udp", "bind_udp_and_tcp", "pick_free_port"]
