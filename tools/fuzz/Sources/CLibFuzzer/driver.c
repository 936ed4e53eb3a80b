// Declarations only (see include/libfuzzer_driver.h); SwiftPM needs one source per C target.
#include "libfuzzer_driver.h"
