/* SPDX-License-Identifier: MIT */
/* rawterm.c: the local terminal in raw mode and its size changes (rawterm.h). */
#include "cli/rawterm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static volatile sig_atomic_t raw_on;
static bool atexit_set;
static int winch_pipe[2] = { -1, -1 };

/* SIGTERM, SIGHUP, SIGQUIT while raw: the terminal comes back before we go (tcsetattr is
 * async-signal-safe). */
static void on_fatal(int sig)
{
    if (raw_on)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    _exit(128 + sig);
}

static void set_fatal(void (*handler)(int))
{
    struct sigaction sa = { .sa_handler = handler };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
}

bool rawterm_enter(void)
{
    if (raw_on || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) < 0)
        return raw_on;
    struct termios t = saved;
    cfmakeraw(&t);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
        return false;
    raw_on = 1;
    set_fatal(on_fatal);
    if (!atexit_set)
        atexit_set = atexit(rawterm_leave) == 0;
    return true;
}

void rawterm_leave(void)
{
    if (!raw_on)
        return;
    (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    raw_on = 0;
    set_fatal(SIG_DFL);
}

static void on_winch(int sig)
{
    int e = errno;
    (void)sig;
    if (write(winch_pipe[1], "w", 1) < 0) {
        /* full: a resize is pending anyway */
    }
    errno = e;
}

int rawterm_winch_open(void)
{
    if (winch_pipe[0] >= 0)
        return winch_pipe[0];
    if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    struct sigaction sa = { .sa_handler = on_winch, .sa_flags = SA_RESTART };
    sigaction(SIGWINCH, &sa, NULL);
    return winch_pipe[0];
}

void rawterm_winch_drain(void)
{
    char drain[64];
    while (winch_pipe[0] >= 0 && read(winch_pipe[0], drain, sizeof(drain)) > 0)
        ;
}

void rawterm_winch_close(void)
{
    if (winch_pipe[0] < 0)
        return;
    signal(SIGWINCH, SIG_DFL);
    close(winch_pipe[0]);
    close(winch_pipe[1]);
    winch_pipe[0] = winch_pipe[1] = -1;
}

void rawterm_size(int *rows, int *cols)
{
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) &&
        ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row > 1000 ? 1000 : ws.ws_row;
        *cols = ws.ws_col > 1000 ? 1000 : ws.ws_col;
    }
}
