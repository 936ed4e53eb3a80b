// SIGINT and SIGTERM as a stop request that a long loop polls between steps.
//
// The handler only stores the signal number into a `volatile sig_atomic_t` (async-signal-safe);
// a second SIGINT or SIGTERM while a stop is pending writes one line with write(2) and ends the
// process at once with _exit(128 + signal), both async-signal-safe.
#ifndef BITGPT_STOP_SIGNALS_H
#define BITGPT_STOP_SIGNALS_H

/// Installs the handler for SIGINT and SIGTERM (sigaction, SA_RESTART) and unblocks both in the
/// calling thread. Returns 0, or -1 with errno.
int bitgpt_stop_signals_install(void);

/// The first SIGINT or SIGTERM received since install (its number), or 0 when none.
int bitgpt_stop_signal(void);

/// Forgets a received signal (for tests that run several loops in one process).
void bitgpt_stop_signal_reset(void);

#endif
