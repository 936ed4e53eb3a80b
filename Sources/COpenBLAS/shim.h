// The slice of OpenBLAS the trainer uses: cblas_sgemm and the thread count.
// pkg-config "openblas" (Debian: libopenblas-dev) supplies the include path and the library.
#ifndef BITGPT_COPENBLAS_SHIM_H
#define BITGPT_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
