#!/usr/bin/env python3
"""A tiny OTLP/HTTP sink: stores every POST body (gunzipped) as <dir>/<n>-<signal>.pb and answers 200.
Usage: otlp_sink.py <port> <dir>"""
import gzip, http.server, os, sys, threading

port, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
lock, counter = threading.Lock(), [0]

class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        if self.headers.get('Content-Encoding', '') == 'gzip':
            body = gzip.decompress(body)
        signal = self.path.strip('/').replace('/', '_') or 'root'
        with lock:
            counter[0] += 1
            name = f'{counter[0]:06d}-{signal}.pb'
        with open(os.path.join(out, name), 'wb') as f:
            f.write(body)
        with open(os.path.join(out, name + '.headers'), 'w') as f:
            f.write(str(self.headers))
        self.send_response(200)
        self.send_header('Content-Type', 'application/x-protobuf')
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass

http.server.ThreadingHTTPServer(('127.0.0.1', port), Sink).serve_forever()
