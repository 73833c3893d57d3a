#!/usr/bin/env python3
"""A hostile git smart-HTTP server over TLS for tests/tests/backup_https.rs: every request is
answered the way --mode says, to check that `fanout backup --push` stays bounded and quiet.

  endless-error  HTTP 500 whose body never ends
  endless-refs   a valid refs advertisement that never ends (a new ref every line)
  echo           HTTP 500 whose body repeats the request's Authorization header
  ng-escape      advertises no refs, then refuses the push with a reason full of terminal
                 escapes (clear screen, OSC 52 clipboard write)

Endless bodies are sent at a few MB/s, so that a client that keeps them all grows slowly
enough for a test to see it fail by its deadline rather than the machine run out of memory.
Every request line and its Authorization header (or `-`) is appended to --record. Prints
`PORT <n>` once it listens.
"""

import argparse
import socket
import ssl
import threading
import time


def pkt(data):
    if isinstance(data, str):
        data = data.encode()
    return b"%04x" % (len(data) + 4) + data


ZERO = "0" * 40
ADVERTISED = (
    pkt("# service=git-receive-pack\n")
    + b"0000"
    + pkt(ZERO + " capabilities^{}\0report-status delete-refs ofs-delta\n")
    + b"0000"
)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--record", required=True)
    args = p.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    lock = threading.Lock()

    def read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            more = conn.recv(65536)
            if not more:
                return None, None
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            more = conn.recv(65536)
            if not more:
                break
            body += more
        with lock, open(args.record, "a") as record:
            record.write(f"{lines[0]} {headers.get('authorization', '-')}\n")
        return lines[0], headers

    def reply(conn, status, content_type, body):
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    def endless(conn, status, content_type, pieces):
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for piece in pieces:
            conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            time.sleep(0.01)

    def refs():
        yield pkt("# service=git-receive-pack\n") + b"0000"
        yield pkt(("%040x" % 1) + " refs/heads/a\0report-status\n")
        n = 2
        while True:
            yield b"".join(pkt("%040x refs/tags/t%d\n" % (n + i, n + i)) for i in range(2000))
            n += 2000

    def forever(piece):
        while True:
            yield piece

    def handle(raw):
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            line, headers = read_request(conn)
            if line is None:
                return
            method = line.split(" ", 1)[0]
            mode = args.mode
            if mode == "endless-error":
                endless(conn, "500 Oops", "text/plain", forever(b"x" * 32768))
            elif mode == "endless-refs":
                endless(conn, "200 OK", "application/x-git-receive-pack-advertisement", refs())
            elif mode == "echo":
                said = f"you sent Authorization: {headers.get('authorization')}"
                reply(conn, "500 Oops", "text/plain", said.encode())
            elif mode == "ng-escape" and method == "GET":
                reply(conn, "200 OK", "application/x-git-receive-pack-advertisement", ADVERTISED)
            elif mode == "ng-escape":
                report = (
                    pkt("unpack ok\n")
                    + pkt("ng refs/heads/main \x1b[2J\x1b]52;c;aGk=\x07denied\n")
                    + b"0000"
                )
                reply(conn, "200 OK", "application/x-git-receive-pack-result", report)
            elif mode == "no-status" and method == "GET":
                reply(conn, "200 OK", "application/x-git-receive-pack-advertisement", ADVERTISED)
            elif mode == "no-status":
                # Unpacked, and then not a word on the branch: did it move or not?
                report = pkt("unpack ok\n") + b"0000"
                reply(conn, "200 OK", "application/x-git-receive-pack-result", report)
            else:
                reply(conn, "404 Not Found", "text/plain", b"unknown mode")
        except (ssl.SSLError, OSError):
            pass
        finally:
            conn.close()

    print(f"PORT {listener.getsockname()[1]}", flush=True)
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=handle, args=(raw,), daemon=True).start()


if __name__ == "__main__":
    main()
