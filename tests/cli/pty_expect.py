# SPDX-License-Identifier: MIT
# pty_expect.py: a command under a pseudo-terminal for the CLI tests that drive a terminal
# (test_cli_shell.sh's `hearth sb shell`, test_cli_ssh.sh's `ssh -tt`): start it at a size,
# wait for text (consumed up to the match), type, resize, and wait for its exit status.
import fcntl, os, pty, select, struct, sys, termios, time


class Pty:
    def __init__(self, argv, rows=24, cols=80):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(argv[0], argv)
        self.buf = b""
        self.setsize(rows, cols)

    def setsize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, s):
        os.write(self.fd, s.encode())

    def expect(self, what, timeout=60):
        """Waits for what; exits the test (1) with what came instead after timeout seconds."""
        end = time.time() + timeout
        while what.encode() not in self.buf:
            if time.time() > end:
                print("timeout waiting for %r; got %r" % (what, self.buf[-400:]), file=sys.stderr)
                sys.exit(1)
            r, _, _ = select.select([self.fd], [], [], 1)
            if r:
                try:
                    self.buf += os.read(self.fd, 65536)
                except OSError:
                    break
        i = self.buf.index(what.encode()) + len(what)
        self.buf = self.buf[i:]

    def wait(self, timeout=30):
        """Reads until the terminal closes (at most timeout s), then the exit status."""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 1)
            if r:
                try:
                    if not os.read(self.fd, 65536):
                        break
                except OSError:
                    break
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)
