#!/usr/bin/env python3
"""Hostile peers of abs-ctld's TLS port, for t_tls_hostile.sh.

  flood HOST PORT SRC N SECS [tls]   hold N connections from address SRC that
                                     say nothing (tls: a ClientHello's first
                                     byte, then nothing), opening a new one
                                     as each is closed, for SECS seconds;
                                     prints how many it opened
  junk HOST PORT                     random bytes that start like TLS
  authjunk HOST PORT CA CERT KEY N   a good handshake, then N bytes of binary
                                     junk and a newline; prints the reply
  bigline HOST PORT CA CERT KEY      authenticate (cert), then send a 10 MB
                                     request line; prints what came back
  stall HOST PORT CA CERT KEY        authenticate, pipeline requests without
                                     reading the answers, then stop
                                     (the test SIGSTOPs it); prints "stalled"
  notctld PORT MODE                  a server that is not abs-ctld: MODE
                                     http (answers HTTP), silent (accepts and
                                     says nothing), tlsjunk (a TLS server
                                     that answers junk to the auth line)
"""
import os
import socket
import ssl
import sys
import time


def tls(host, port, ca, cert, key):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.minimum_version = ssl.TLSVersion.TLSv1_3
    c.load_verify_locations(ca)
    c.load_cert_chain(cert, key)
    c.check_hostname = False
    s = socket.create_connection((host, port), timeout=60)
    return c.wrap_socket(s)


def readline(s, limit=1 << 20):
    buf = b""
    while not buf.endswith(b"\n") and len(buf) < limit:
        try:
            d = s.recv(4096)
        except (OSError, ssl.SSLError) as e:
            return buf + ("<%s>" % e).encode()
        if not d:
            break
        buf += d
    return buf


def flood(host, port, src, n, secs, hello):
    conns = []
    opened = 0
    end = time.time() + secs
    while time.time() < end:
        # Drop the ones abs-ctld closed, open new ones up to n.
        alive = []
        for s in conns:
            try:
                s.setblocking(False)
                d = s.recv(1)
                if d == b"":
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            alive.append(s)
        conns = alive
        while len(conns) < n and time.time() < end:
            try:
                s = socket.socket()
                s.bind((src, 0))
                s.settimeout(5)
                s.connect((host, port))
                if hello:
                    s.send(b"\x16")
                conns.append(s)
                opened += 1
            except OSError:
                s.close()
                time.sleep(0.05)
                break
        time.sleep(0.2)
    print(opened, flush=True)


def main():
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "flood":
        flood(a[0], int(a[1]), a[2], int(a[3]), float(a[4]),
              len(a) > 5 and a[5] == "tls")
    elif cmd == "junk":
        s = socket.create_connection((a[0], int(a[1])), timeout=60)
        s.send(b"\x16\x03\x01\x02\x00" + os.urandom(600))
        print(readline(s)[:200])
    elif cmd == "authjunk":
        s = tls(a[0], int(a[1]), a[2], a[3], a[4])
        junk = bytes(b for b in os.urandom(int(a[5]) * 2) if b != 10)
        try:
            s.sendall(junk[:int(a[5])] + b"\n")
        except (OSError, ssl.SSLError) as e:
            print("send: %s" % e)
        print(readline(s)[:300])
    elif cmd == "bigline":
        s = tls(a[0], int(a[1]), a[2], a[3], a[4])
        s.sendall(b'{"auth":"cert"}\n')
        print(readline(s)[:300])
        try:
            s.sendall(b'{"id":1,"cmd":"status","x":"' + b"x" * (10 << 20) +
                      b'"}\n')
        except (OSError, ssl.SSLError) as e:
            print("send: %s" % e)
        print(readline(s)[:300])
    elif cmd == "stall":
        s = tls(a[0], int(a[1]), a[2], a[3], a[4])
        s.sendall(b'{"auth":"cert"}\n')
        print(readline(s)[:300].decode(errors="replace"), flush=True)
        s.settimeout(2)
        req = b'{"id":1,"cmd":"status"}\n' * 200
        try:
            for _ in range(2000):
                s.sendall(req)
        except (OSError, ssl.SSLError, socket.timeout):
            pass
        print("stalled", flush=True)
        time.sleep(600)
    elif cmd == "notctld":
        mode = a[1]
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", int(a[0])))
        ls.listen(8)
        print("listening", flush=True)
        if mode == "tlsjunk":
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            c.load_cert_chain(a[2], a[3])
        held = []
        while True:
            s, _ = ls.accept()
            if mode == "http":
                s.recv(65536)
                s.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + os.urandom(64))
                s.close()
            elif mode == "silent":
                held.append(s)
            else:
                try:
                    t = c.wrap_socket(s, server_side=True)
                    readline(t)
                    t.sendall(os.urandom(300) + b"\n")
                    t.close()
                except (OSError, ssl.SSLError):
                    s.close()


main()
