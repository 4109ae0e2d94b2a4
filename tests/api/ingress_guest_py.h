/* SPDX-License-Identifier: MIT */
/* ingress_guest_py.h: the guest servers of test_ingress_vm.c, python stdlib only. Port 8000:
 * an HTTP/1.1 keep-alive server (/hello, /headers echoes what it received, /conns counts the
 * TCP connections it accepted, /big/N streams N bytes of the pattern i % 251, POST answers
 * "<bytes> <sha256>" of its body in either framing, /ws is a WebSocket echo). Port 9001 answers
 * garbage, 9002 accepts and never answers, 9003 sends a head that never ends. */
#pragma once

#define INGRESS_GUEST_PY                                                                         \
    "import base64, hashlib, http.server, socket, socketserver, struct, threading\n"           \
    "CONNS = [0]\n"                                                                              \
    "LOCK = threading.Lock()\n"                                                                  \
    "PAT = bytes(i % 251 for i in range(251 * 256))\n"                                           \
    "class H(http.server.BaseHTTPRequestHandler):\n"                                             \
    "    protocol_version = 'HTTP/1.1'\n"                                                        \
    "    def setup(self):\n"                                                                     \
    "        with LOCK: CONNS[0] += 1\n"                                                         \
    "        super().setup()\n"                                                                  \
    "    def log_message(self, *a): pass\n"                                                      \
    "    def text(self, body, code=200):\n"                                                      \
    "        b = body.encode()\n"                                                                \
    "        self.send_response(code)\n"                                                         \
    "        self.send_header('Content-Type', 'text/plain')\n"                                   \
    "        self.send_header('Content-Length', str(len(b)))\n"                                  \
    "        self.end_headers()\n"                                                               \
    "        if self.command != 'HEAD': self.wfile.write(b)\n"                                   \
    "    def do_HEAD(self): self.do_GET()\n"                                                     \
    "    def do_GET(self):\n"                                                                    \
    "        p = self.path\n"                                                                    \
    "        if p == '/hello': return self.text('hello')\n"                                      \
    "        if p == '/headers': return self.text(''.join('%s: %s\\n' % (k.lower(), v) "          \
    "for k, v in self.headers.items()))\n"                                                       \
    "        if p == '/conns': return self.text(str(CONNS[0]))\n"                                \
    "        if p.startswith('/big/'):\n"                                                        \
    "            n = int(p[5:]); sent = 0\n"                                                     \
    "            self.send_response(200); self.send_header('Content-Length', str(n))\n"          \
    "            self.end_headers()\n"                                                           \
    "            while sent < n:\n"                                                              \
    "                k = min(len(PAT), n - sent); self.wfile.write(PAT[:k]); sent += k\n"        \
    "            return\n"                                                                       \
    "        if p == '/ws': return self.ws()\n"                                                  \
    "        self.text('nope', 404)\n"                                                           \
    "    def do_POST(self):\n"                                                                   \
    "        h = hashlib.sha256(); n = 0\n"                                                      \
    "        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':\n"               \
    "            while True:\n"                                                                  \
    "                size = int(self.rfile.readline().split(b';')[0], 16)\n"                     \
    "                if size == 0:\n"                                                            \
    "                    while self.rfile.readline() not in (b'\\r\\n', b'\\n', b''): pass\n"    \
    "                    break\n"                                                                \
    "                d = self.rfile.read(size); h.update(d); n += len(d); self.rfile.readline()\n" \
    "        else:\n"                                                                            \
    "            left = int(self.headers.get('Content-Length', '0'))\n"                          \
    "            while left:\n"                                                                  \
    "                d = self.rfile.read(min(left, 65536))\n"                                    \
    "                if not d: break\n"                                                          \
    "                h.update(d); n += len(d); left -= len(d)\n"                                 \
    "        self.text('%d %s' % (n, h.hexdigest()))\n"                                          \
    "    def ws(self):\n"                                                                        \
    "        key = self.headers['Sec-WebSocket-Key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'\n" \
    "        acc = base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()\n"             \
    "        self.send_response(101); self.send_header('Upgrade', 'websocket')\n"                \
    "        self.send_header('Connection', 'Upgrade')\n"                                        \
    "        self.send_header('Sec-WebSocket-Accept', acc); self.end_headers()\n"                \
    "        self.wfile.flush(); self.close_connection = True\n"                                 \
    "        while True:\n"                                                                      \
    "            hdr = self.rfile.read(2)\n"                                                     \
    "            if len(hdr) < 2: return\n"                                                      \
    "            op = hdr[0] & 15; ln = hdr[1] & 127\n"                                          \
    "            if ln == 126: ln = struct.unpack('>H', self.rfile.read(2))[0]\n"                \
    "            elif ln == 127: ln = struct.unpack('>Q', self.rfile.read(8))[0]\n"              \
    "            mask = self.rfile.read(4) if hdr[1] & 128 else bytes(4)\n"                      \
    "            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(ln)))\n"     \
    "            if op == 8: self.wfile.write(b'\\x88\\x00'); self.wfile.flush(); return\n"      \
    "            n = len(data)\n"                                                                \
    "            ext = bytes([n]) if n < 126 else (b'\\x7e' + struct.pack('>H', n) "             \
    "if n < 65536 else b'\\x7f' + struct.pack('>Q', n))\n"                                       \
    "            self.wfile.write(bytes([0x80 | op]) + ext + data); self.wfile.flush()\n"        \
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"                            \
    "    daemon_threads = True; allow_reuse_address = True\n"                                    \
    "def raw(port, fn):\n"                                                                       \
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"         \
    "    s.bind(('127.0.0.1', port)); s.listen(16)\n"                                            \
    "    def loop():\n"                                                                          \
    "        while True:\n"                                                                      \
    "            c, _ = s.accept(); threading.Thread(target=fn, args=(c,), daemon=True).start()\n" \
    "    threading.Thread(target=loop, daemon=True).start()\n"                                   \
    "def garbage(c):\n"                                                                          \
    "    c.recv(65536); c.sendall(b'SSH-2.0-x\\r\\n\\x00\\x01\\r\\n\\r\\n'); c.close()\n"          \
    "def silent(c): c.recv(65536); threading.Event().wait(3600)\n"                               \
    "def endless(c):\n"                                                                          \
    "    c.recv(65536); c.sendall(b'HTTP/1.1 200 OK\\r\\n')\n"                                   \
    "    try:\n"                                                                                 \
    "        while True: c.sendall(b'X-Endless: ' + b'a' * 1000 + b'\\r\\n')\n"                  \
    "    except OSError: pass\n"                                                                 \
    "raw(9001, garbage); raw(9002, silent); raw(9003, endless)\n"                                \
    "S(('0.0.0.0', 8000), H).serve_forever()\n"

/* A WebSocket client (host side): connects to 127.0.0.1:argv[1] with Host argv[2], sends
 * three masked text frames (the last 70000 bytes long) and prints what came back. */
#define INGRESS_WS_CLIENT_PY                                                                     \
    "import base64, os, socket, struct, sys\n"                                                   \
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=30)\n"                \
    "key = base64.b64encode(os.urandom(16)).decode()\n"                                          \
    "s.sendall(('GET /ws HTTP/1.1\\r\\nHost: %s\\r\\nUpgrade: websocket\\r\\n'\n"              \
    "  'Connection: Upgrade\\r\\nSec-WebSocket-Key: %s\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n'"\
    " % (sys.argv[2], key)).encode())\n"                                                         \
    "f = s.makefile('rb')\n"                                                                     \
    "status = f.readline().split()[1].decode(); hs = {}\n"                                       \
    "while True:\n"                                                                              \
    "    l = f.readline().strip()\n"                                                             \
    "    if not l: break\n"                                                                      \
    "    k, v = l.decode().split(':', 1); hs[k.strip().lower()] = v.strip()\n"                   \
    "print(status, 'accept' in ''.join(hs.keys()))\n"                                            \
    "def send(op, data):\n"                                                                      \
    "    m = os.urandom(4); n = len(data)\n"                                                     \
    "    ext = bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack('>H', n) "   \
    "if n < 65536 else bytes([0x80 | 127]) + struct.pack('>Q', n))\n"                            \
    "    s.sendall(bytes([0x80 | op]) + ext + m + bytes(b ^ m[i % 4] for i, b in "               \
    "enumerate(data)))\n"                                                                        \
    "def recv():\n"                                                                              \
    "    h = f.read(2); n = h[1] & 127\n"                                                        \
    "    if n == 126: n = struct.unpack('>H', f.read(2))[0]\n"                                   \
    "    elif n == 127: n = struct.unpack('>Q', f.read(8))[0]\n"                                 \
    "    return f.read(n)\n"                                                                     \
    "for msg in (b'ping', b'second', b'z' * 70000):\n"                                           \
    "    send(1, msg); r = recv(); print(len(r), r[:6].decode())\n"                              \
    "send(8, b'')\n"
