#!/usr/bin/env python3
"""Development server for kith's web UI (Python 3 standard library only).

The daemon compiles the files of this directory into its binary and serves them itself.
While working on the UI, this script serves them straight from the directory instead, so a
page reload shows an edit at once, and forwards everything else to a running daemon:

    python3 crates/api/ui/dev-server.py --daemon 127.0.0.1:5050 \
        --token-file ~/.local/share/kith/api.token [--listen 127.0.0.1:8080]

then open http://127.0.0.1:8080/ .

* `/` serves `index.html`; `/assets/<file>` serves `assets/<file>` (.js .css .svg .html
  only). Both are sent with the Content-Security-Policy the daemon uses, so a page that
  works here obeys it there too.
* `/api/…`, `/p/…`, `/feeds/…`, `/health` and every other path are forwarded to the daemon
  with `Authorization: Bearer <token>` added (the daemon itself signs the browser in with a
  cookie; this proxy stands in for it). Without `--token-file` no token is added, which shows
  the UI's sign-in screen. `Origin` is dropped and `Host` rewritten, as the daemon sees a
  request from itself. `text/event-stream` answers are streamed chunk by chunk, unbuffered.

Stop it with Ctrl-C.
"""

import argparse
import http.client
import http.server
import os
import socketserver
import sys

UI_DIR = os.path.dirname(os.path.abspath(__file__))

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Hop-by-hop headers are never forwarded (RFC 9110 §7.6.1).
HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kith-ui-dev"
    daemon_addr = ("127.0.0.1", 5050)
    token = None

    def log_message(self, fmt, *args):  # quieter than the default
        sys.stderr.write("%s %s\n" % (self.command, fmt % args))

    # Every method goes the same way.
    def do_GET(self):
        self.route()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def route(self):
        path = self.path.split("?", 1)[0]
        if self.command in ("GET", "HEAD") and (path == "/" or path == "/index.html"):
            return self.static("index.html")
        if self.command in ("GET", "HEAD") and path.startswith("/assets/"):
            name = path[len("/assets/"):]
            if "/" in name or name.startswith(".") or not name:
                return self.plain(404, "not found")
            return self.static(os.path.join("assets", name))
        return self.forward()

    def plain(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def static(self, rel):
        ext = os.path.splitext(rel)[1]
        full = os.path.join(UI_DIR, rel)
        if ext not in TYPES or not os.path.isfile(full):
            return self.plain(404, "not found")
        with open(full, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", TYPES[ext])
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {}
        for key, value in self.headers.items():
            low = key.lower()
            if low in HOP or low in ("host", "origin", "authorization", "cookie", "referer"):
                continue
            headers[key] = value
        host, port = self.daemon_addr
        headers["Host"] = "%s:%d" % (host, port)
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        conn = http.client.HTTPConnection(host, port, timeout=None)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            conn.close()
            msg = '{"error": "the dev server cannot reach the daemon: %s", "code": "proxy"}' % e
            body = msg.replace("\\", "/").encode()
            self.send_response(502)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(resp.status, resp.reason)
        known_length = resp.getheader("Content-Length")
        for key, value in resp.getheaders():
            if key.lower() in HOP or key.lower() in ("date", "server"):
                continue
            self.send_header(key, value)
        if known_length is None:
            # Streamed (an event stream, or a chunked answer): pass it on as it comes and
            # end the answer by closing the connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            if self.command == "HEAD":
                return
            while True:
                chunk = resp.read1(65536) if known_length is None else resp.read(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            conn.close()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daemon", default="127.0.0.1:5050", help="the daemon's API, IP:PORT")
    parser.add_argument("--token-file", help="the daemon's api.token (omit: not signed in)")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="where to serve, IP:PORT")
    args = parser.parse_args()
    dhost, dport = args.daemon.rsplit(":", 1)
    Handler.daemon_addr = (dhost, int(dport))
    if args.token_file:
        with open(os.path.expanduser(args.token_file)) as f:
            Handler.token = f.read().strip()
    lhost, lport = args.listen.rsplit(":", 1)
    server = Server((lhost, int(lport)), Handler)
    print("kith UI dev server on http://%s:%s/ -> daemon %s" % (lhost, lport, args.daemon),
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
