// The mini cluster moved to tests/support/minicluster.h; this name stays for
// bench/prolog_bench.cc until it includes the new one.
#pragma once

#include "support/minicluster.h"
