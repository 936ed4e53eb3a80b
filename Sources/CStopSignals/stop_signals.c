// See include/bitgpt_stop_signals.h.
#include "bitgpt_stop_signals.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t pending = 0;

static void on_signal(int sig) {
    if (pending != 0) {
        static const char line[] = "lm-train: second signal: exiting at once, without a checkpoint\n";
        ssize_t ignored = write(STDERR_FILENO, line, sizeof line - 1);
        (void)ignored;
        _exit(128 + sig);
    }
    pending = sig;
}

int bitgpt_stop_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0) return -1;
    if (sigaction(SIGTERM, &sa, NULL) != 0) return -1;
    // A parent may have started us with the signals blocked (some process launchers do); then
    // the handler would never run. Threads created later inherit this thread's mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

int bitgpt_stop_signal(void) { return (int)pending; }

void bitgpt_stop_signal_reset(void) { pending = 0; }
