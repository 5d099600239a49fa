"""fakehub.py - what the Python fake Hubs of the integration tests share
(hub_hostile.sh, hub_client_http.sh): a request handler that answers
quietly with a body of a given type, and a threaded server on a free
loopback port that writes its port to a file once listening (start_fake in
hub.sh waits for that file). Each test's fake subclasses Handler with its
own do_GET / do_POST ... and calls serve(Handler, port_file)."""
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            for i in range(0, len(body), 1 << 20):
                self.wfile.write(body[i:i + (1 << 20)])


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, *a):
        pass  # the client hanging up mid-answer is what some tests do


def serve(handler, port_file):
    srv = _Server(("127.0.0.1", 0), handler)  # a free port, chosen by the kernel
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()
