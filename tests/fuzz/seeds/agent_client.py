#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# agent_client.py: writes the seed corpus of fuzz_agent_client (tests/fuzz/corpus/agent_client):
# what a guest agent sends back on the streams the driver opens (1 exec with stdin, 2 file get,
# 3 pushed file put, 4 power, 5 netcfg, 6 exec, 7 exec on a terminal, 8 PROC_ATTACH, 9 PROC_INPUT,
# 10 PROC_GET), good sessions and hostile ones. The first byte
# of each file picks the driver's chunk size (1 + 16 b). Run from the repository root.
import json
import os
import struct

SESSION = "#" * 32  # the driver puts the connection's session here
T = dict(READY=2, PING=3, PONG=4, ERROR=5, WINDOW=6, CANCEL=7, EXEC=16, STDOUT=18, STDERR=19,
         EXIT=20, FILE_GET=33, DATA=34, FILE_INFO=35, DONE=36, PROC_OUTPUT=68, PROC_GAP=69)
EOF_F = 1


def frame(t, stream, payload=b"", flags=0):
    if isinstance(payload, (dict, list)):
        payload = json.dumps(payload, separators=(",", ":")).encode()
    return b"hrth" + struct.pack("<HHII", T.get(t, t) if isinstance(t, str) else t, flags,
                                 stream, len(payload)) + payload


ready = frame("READY", 0, {"version": 1, "agent": "hearth-agent/0.1.0", "boot_id": "b-1",
                           "session": SESSION})


def output(seq, which, data):
    return struct.pack("<QB", seq, which) + data


record = {"process_id": "p", "kind": "pty", "pid": 42, "state": "exited", "leader_exited": True,
          "tree_exited": True, "created_ms": 1, "finished_ms": 2, "exit_code": 0, "cmd": "sh",
          "args": [], "cwd": "/root", "output": {"oldest_seq": 1, "newest_seq": 2, "bytes": 3},
          "input_seq": 1}
seeds = {
    "procs": bytes([255]) + ready
    + frame("STDOUT", 7, b"$ ls\r\n") + frame("EXIT", 7, {"exit_code": 0, "duration_ms": 3})
    + frame("PROC_GAP", 8, {"oldest_available_seq": 5})
    + frame("PROC_OUTPUT", 8, output(5, 0, b"Hold")) + frame("PROC_OUTPUT", 8, output(6, 2, b"x"))
    + frame("DONE", 8, record) + frame("DONE", 9, {"input_seq": 1}) + frame("DONE", 10, record),
    "procs_hostile": bytes([31]) + ready
    + frame("PROC_OUTPUT", 8, b"short") + frame("PROC_OUTPUT", 8, output(1, 3, b"bad stream"))
    + frame("PROC_GAP", 8, b"not json") + frame("PROC_GAP", 8, {"oldest_available_seq": -1})
    + frame("PROC_OUTPUT", 7, output(1, 0, b"wrong stream")) + frame("PROC_GAP", 10, {})
    + frame("DONE", 9, b"[1]") + frame("DONE", 10, b"{\"a\":\"\\u0000\"}")
    + frame("ERROR", 7, {"error": "EINVAL", "message": "bad RESIZE"}),
    "session_good": bytes([255]) + ready
    + frame("PONG", 0, struct.pack("<Q", 1))
    + frame("WINDOW", 1, struct.pack("<I", 65536))
    + frame("STDOUT", 1, b"hello\n") + frame("STDERR", 1, b"warn\n")
    + frame("EXIT", 1, {"exit_code": 0, "duration_ms": 12, "timed_out": False})
    + frame("FILE_INFO", 2, {"size": 5, "mode": 0o100644})
    + frame("DATA", 2, b"host\n", EOF_F)
    + frame("WINDOW", 3, struct.pack("<I", 1 << 20)) + frame("DONE", 3, {"size": 8192})
    + frame("DONE", 4, {}) + frame("DONE", 5, {})
    + frame("EXIT", 6, {"signal": 9}),
    "callbacks": bytes([15]) + ready
    + frame("STDOUT", 1, b"Hold this") + frame("STDOUT", 1, b"New stream")
    + frame("STDOUT", 6, b"Cancel me") + frame("DATA", 2, b"X fails")
    + frame("EXIT", 7, {"exit_code": 7}),
    "errors": bytes([63]) + ready
    + frame("ERROR", 1, {"error": "ENOENT", "message": "no such file"})
    + frame("ERROR", 2, {"error": "EWHAT", "message": "x" * 300})
    + frame("ERROR", 0, b"agent is unhappy")
    + frame("ERROR", 5, {"error": "EINVAL", "message": "net.mac"}),
    "violations": bytes([7]) + ready
    + frame("STDOUT", 2, b"wrong type") + frame("DATA", 1, b"wrong type")
    + frame("EXIT", 3, {"exit_code": 0}) + frame("DONE", 1, {"size": -1})
    + frame("WINDOW", 4, b"\x01\x02\x03") + frame("FILE_INFO", 1, {"size": 1})
    + frame("EXIT", 6, {"exit_code": 256}) + frame(999, 5, b"unknown type")
    + frame("EXEC", 5, b"host type") + frame("DONE", 99, {}),
    "credit": bytes([255]) + frame("WINDOW", 1, struct.pack("<I", 0xFFFFFFFF)) * 300
    + frame("STDOUT", 6, b"A" * 2000),
    "ready_other": bytes([0]) + frame("READY", 0, {"version": 2, "session": SESSION})
    + frame("READY", 0, {"version": 1}) + frame("READY", 0, {"version": 1, "session": "x"})
    + frame("READY", 0, b"[]") + frame("PING", 0, b"12345678") + frame("PING", 4, b"p"),
    "garbage": bytes([3]) + b"hrt" + b"\x00" * 40 + b"hrthhrth" + frame("STDOUT", 1, b"ok")[:20]
    + ready[:-3] + frame("STDOUT", 1, b"after"),
}
out = "tests/fuzz/corpus/agent_client"
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
