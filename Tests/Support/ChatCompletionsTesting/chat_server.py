#!/usr/bin/env python3
"""A scripted OpenAI-compatible chat-completions server for the client, council and judge tests.

Usage: chat_server.py SCRIPT.json LOG.jsonl
Listens on 127.0.0.1 on a free port and prints "PORT <n>" on stdout once ready.

SCRIPT.json:
  {"require_key": "secret" | null,
   "reject_response_format": ["json_schema", ...],
   "routes": [{"match": "substring of the system message", "replies": [REPLY, ...]}, ...]}
A request whose response_format type is listed in "reject_response_format" is answered 400 with
llama.cpp's message for an unknown type, without using up a reply (a server that cannot do it).
A request goes to the first route whose "match" occurs in its messages ("" matches all).
Each route hands out its replies in order; the last one repeats once the list is used up.
REPLY fields (all optional):
  "delay": seconds to sleep before answering (a hang, when longer than the client's timeout)
  "status": HTTP status (default 200)
  "headers": extra response headers, e.g. {"Retry-After": "1"}
  "content": assistant message text, wrapped in a chat.completion body
  "raw": the response body as is (instead of a chat.completion)
  "echo_auth": put the request's Authorization header into the body (content or error text)
  "content_bytes": n, make the assistant message n letters long (an oversized reply)
  "chunked": send the body in chunks without a Content-Length (the size is not announced)
  "finish_reason": the choice's finish_reason (default "stop"; "length" for a reply cut at max_tokens)
Every request is appended to LOG.jsonl as {"time", "route", "authorization", "body", "raw"}
("raw": the request body as sent, to check the order of its keys).
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The test process may start us with SIGTERM blocked or ignored; make it end us again.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.SIG_DFL)

script = json.load(open(sys.argv[1]))
log_path = sys.argv[2]
lock = threading.Lock()
counters = {}


def next_reply(route_index):
    with lock:
        replies = script["routes"][route_index]["replies"]
        n = counters.get(route_index, 0)
        counters[route_index] = n + 1
        return replies[min(n, len(replies) - 1)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=None, chunked=False):
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if chunked:
                for start in range(0, len(data), 65536):
                    piece = data[start:start + 65536]
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout and size-limit tests)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        auth = self.headers.get("Authorization")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        text = ""
        if isinstance(body, dict) and body.get("messages"):
            text = "\n".join(str(m.get("content", "")) for m in body["messages"])
        route = next((i for i, r in enumerate(script["routes"]) if r.get("match", "") in text), None)
        with lock:
            with open(log_path, "a") as log:
                log.write(json.dumps({"time": time.time(), "route": route, "path": self.path,
                                      "authorization": auth, "body": body,
                                      "raw": raw.decode("utf-8", "replace")}) + "\n")
        if not self.path.endswith("/chat/completions"):
            return self.send(404, json.dumps({"error": "no such path " + self.path}))
        key = script.get("require_key")
        if key is not None and auth != "Bearer " + key:
            return self.send(401, json.dumps({"error": "bad key"}))
        requested = ((body or {}).get("response_format") or {}).get("type")
        if requested is not None and requested in script.get("reject_response_format", []):
            message = 'response_format type must be one of "text" or "json_object", but got: ' + requested
            return self.send(400, json.dumps({"error": {"code": 400, "message": message,
                                                        "type": "invalid_request_error"}}))
        if route is None:
            return self.send(500, json.dumps({"error": "no route for this request"}))
        reply = next_reply(route)
        if reply.get("delay"):
            time.sleep(reply["delay"])
        status = reply.get("status", 200)
        if "raw" in reply:
            body_text = reply["raw"]
        elif status == 200:
            content = reply.get("content", "")
            if reply.get("content_bytes"):
                content = "a" * int(reply["content_bytes"])
            if reply.get("echo_auth"):
                content = content + " Authorization: " + str(auth)
            body_text = json.dumps({
                "id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": reply.get("finish_reason", "stop"),
                             "message": {"role": "assistant", "content": content}}]})
        else:
            error = {"error": {"message": "scripted error"}}
            if reply.get("echo_auth"):
                error["error"]["message"] = "bad request from " + str(auth)
            body_text = json.dumps(error)
        self.send(status, body_text, reply.get("headers"), chunked=bool(reply.get("chunked")))


def exit_with_parent(parent):
    # A test that crashes never stops us; do not outlive it.
    import os
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


import os
threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("PORT %d" % server.server_address[1], flush=True)
server.serve_forever()
