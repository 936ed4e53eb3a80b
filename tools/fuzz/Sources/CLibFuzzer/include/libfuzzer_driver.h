#ifndef BITGPT_LIBFUZZER_DRIVER_H
#define BITGPT_LIBFUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver entry (compiler-rt FuzzerInterface.h): runs the fuzzer with the command
/// line in argc/argv, calling `callback` for each input. Defined by the libFuzzer runtime that
/// `-sanitize=fuzzer` links.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
