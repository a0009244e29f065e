#!/usr/bin/env python3
"""receiver.py DIR PORT [--tls CERT KEY] [--hang]: a webhook receiver for tests.

Listens on 127.0.0.1:PORT and records every request N (from 1) in DIR:
req.N.method, req.N.path, req.N.headers ("Name: value" lines), req.N.body,
req.N.time (when it arrived, Unix seconds with a fraction).
Each answer is the first line of DIR/answers, which is then dropped unless
it is the last: "STATUS|Header: value|...|body=TEXT|delay=SECONDS" (200
when no file; delay: the answer waits that long after the request is
recorded).
--tls serves HTTPS with the given certificate and key.  --hang accepts
connections and never answers; it records connection N as DIR/conn.N once
it has read the first bytes sent on it.  DIR/ready appears once it listens.
"""
import glob
import http.server
import os
import socket
import ssl
import sys
import threading
import time

lock = threading.Lock()


def next_answer(d):
    path = os.path.join(d, "answers")
    try:
        with open(path) as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
    except FileNotFoundError:
        return "200"
    if not lines:
        return "200"
    if len(lines) > 1:
        with open(path, "w") as f:
            f.write("\n".join(lines[1:]) + "\n")
    return lines[0]


def make_handler(d):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_any(self):
            arrived = time.time()
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            with lock:
                # numbered from 1 again once the test has removed the old ones
                k = len(glob.glob(os.path.join(d, "req.*.method"))) + 1
                answer = next_answer(d)
                with open(os.path.join(d, "req.%d.method" % k), "w") as f:
                    f.write(self.command)
            base = os.path.join(d, "req.%d." % k)
            for name, data in (("path", self.path), ("time", "%.3f" % arrived),
                               ("headers", "".join("%s: %s\n" % kv for kv in self.headers.items()))):
                with open(base + name, "w") as f:
                    f.write(data)
            with open(base + "body", "wb") as f:
                f.write(body)
            parts = answer.split("|")
            out = b"ok"
            for p in parts[1:]:
                if p.startswith("delay="):
                    time.sleep(float(p[6:]))
            self.send_response(int(parts[0]))
            for p in parts[1:]:
                if p.startswith("delay="):
                    continue
                if p.startswith("body="):
                    out = p[5:].encode()
                else:
                    name, _, value = p.partition(":")
                    self.send_header(name.strip(), value.strip())
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_POST = do_any
        do_GET = do_any
        do_PUT = do_any

    return H


def main():
    d, port = sys.argv[1], int(sys.argv[2])
    args = sys.argv[3:]
    if "--hang" in args:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(16)
        open(os.path.join(d, "ready"), "w").close()
        held = []

        def begun(c, n):
            c.settimeout(30)
            try:
                c.recv(1)       # the request has begun to come
            except OSError:
                pass
            open(os.path.join(d, "conn.%d" % n), "w").close()

        while True:
            c, _ = s.accept()
            held.append(c)      # answer nothing
            threading.Thread(target=begun, args=(c, len(held)), daemon=True).start()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), make_handler(d))
    if "--tls" in args:
        i = args.index("--tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[i + 1], args[i + 2])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    open(os.path.join(d, "ready"), "w").close()
    srv.serve_forever()


if __name__ == "__main__":
    main()
