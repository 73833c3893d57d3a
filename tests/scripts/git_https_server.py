#!/usr/bin/env python3
"""A git smart-HTTP server over TLS for tests/tests/backup_https.rs: the real `git http-backend`
run as a CGI program behind Basic auth, as a web server in front of a git host would.

Every request's method, path and Authorization header (or `-`) is appended to --record, so a
test can tell exactly what reached the server. With --redirect-to, every request is answered
with a 302 to that origin instead (a server that moved, or one that tries to pull the client
elsewhere). With --move FROM=TO, paths under FROM are redirected (301) to TO on this server.

Prints `PORT <n>` on stdout once it listens.
"""

import argparse
import base64
import http.server
import os
import ssl
import subprocess
import sys
import threading


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--root", help="GIT_PROJECT_ROOT")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--record", required=True)
    p.add_argument("--redirect-to")
    p.add_argument("--move", default="")
    args = p.parse_args()
    lock = threading.Lock()
    expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    moved_from, _, moved_to = args.move.partition("=")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.serve()

        def do_POST(self):
            self.serve()

        def serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization")
            with lock, open(args.record, "a") as record:
                record.write(f"{self.command} {self.path} {auth or '-'}\n")
            if args.redirect_to:
                return self.reply(302, [("Location", args.redirect_to + self.path)], b"")
            if moved_from and self.path.startswith(moved_from):
                where = moved_to + self.path[len(moved_from):]
                return self.reply(301, [("Location", where)], b"")
            if auth != expected:
                return self.reply(
                    401, [("WWW-Authenticate", 'Basic realm="git"')], b"who are you?\n"
                )
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": args.root,
                "GIT_HTTP_EXPORT_ALL": "1",
                # receive-pack is served only to an authenticated user.
                "REMOTE_USER": args.user,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": self.client_address[0],
                # The test's repository belongs to whoever runs it; git checks ownership.
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "safe.directory",
                "GIT_CONFIG_VALUE_0": "*",
            }
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True
            )
            out = done.stdout
            head, sep, rest = out.partition(b"\r\n\r\n")
            if not sep:
                head, sep, rest = out.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            if done.returncode != 0:
                sys.stderr.write(done.stderr.decode(errors="replace"))
            self.reply(status, headers, rest)

        def reply(self, status, headers, body):
            self.send_response(status)
            for name, value in headers:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer((args.bind, 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
