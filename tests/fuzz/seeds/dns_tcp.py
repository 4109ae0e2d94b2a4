#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# dns_tcp.py: writes the seed corpus of fuzz_dns_tcp (tests/fuzz/corpus/dns_tcp): what one
# sandbox's TCP connection to the DNS server sends, length-framed (RFC 7766): single and
# pipelined queries (past the in-flight cap of 16), local and forwarded names, EDNS, and
# hostile framing (short, oversized, cut off). Run from the repository root.
import os
import struct


def query(qid, name, qtype=1, edns=False):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)
    return q


def framed(msg):
    return struct.pack(">H", len(msg)) + msg


seeds = {
    "one_forwarded": framed(query(1, "a.example.com")),
    "local_names": framed(query(2, "peer.hearth.internal")) + framed(query(3, "ghost.hearth.internal"))
    + framed(query(4, "other.hearth.internal", 28)),
    "nxdomain_edns": framed(query(5, "nx.example.org", 1, True)),
    "pipelined_20": b"".join(framed(query(100 + i, "a%d.example.com" % i)) for i in range(20)),
    "hostile_short": framed(query(6, "a.test")) + struct.pack(">H", 5) + b"12345",
    "hostile_long": struct.pack(">H", 65535) + query(7, "a.test"),
    "cut_off": framed(query(8, "a.test")) + framed(query(9, "b.test"))[:-4],
    "not_a_query": framed(b"\x00\x0a\x81\x80" + b"\x00" * 8) + framed(query(10, "a.test", 255)),
}
out = "tests/fuzz/corpus/dns_tcp"
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
