#!/usr/bin/env python3
# include-graph.py: the #include "..." graph of src/ by folder and by file; prints the folder
# edges and any cycle (between folders, or between the files of one folder). Exit 1 on a cycle.
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else 'src'
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
files = {}
for d, _, names in os.walk(root):
    for n in names:
        if n.endswith(('.c', '.h')):
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            with open(p, errors='replace') as f:
                files[rel] = [m.group(1) for m in map(inc.match, f) if m]

def folder(rel):
    # a program's main.c sits on top of its folder's modules: a node of its own
    if os.path.basename(rel) == 'main.c':
        return rel
    return os.path.dirname(rel)

def cycles(graph):
    out, state, stack = [], {}, []
    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                out.append(stack[stack.index(w):] + [w])
            elif not state.get(w):
                visit(w)
        stack.pop()
        state[v] = 2
    for v in sorted(graph):
        if not state.get(v):
            visit(v)
    return out

fg = {}
for f, incs in files.items():
    for i in incs:
        if i in files and folder(i) != folder(f):
            fg.setdefault(folder(f), set()).add(folder(i))
print('folder graph:')
for a in sorted(fg):
    print('  %s -> %s' % (a, ', '.join(sorted(fg[a]))))
bad = 0
for c in cycles(fg):
    print('FOLDER CYCLE: ' + ' -> '.join(c))
    bad = 1
# file level, within each folder: a .c and its .h are one node. A folder's private header
# (<folder>_internal.h, <module>_backend.h: shared by the files that implement the folder's public
# headers, and by nothing outside it) sits below them all, so edges into it are not counted.
def node(rel):
    return os.path.splitext(rel)[0]
def private(rel):
    return rel.endswith(('_internal.h', '_backend.h'))
byf = {}
for f, incs in files.items():
    for i in incs:
        if private(i):
            continue
        if i in files and folder(i) == folder(f) and node(i) != node(f):
            byf.setdefault(node(f), set()).add(node(i))
for c in cycles(byf):
    print('FILE CYCLE: ' + ' -> '.join(c))
    bad = 1
print('no cycles' if not bad else 'cycles found')
sys.exit(bad)
