// The benchmarks' own flags, taken from argv before Google Benchmark (or nothing) sees the rest.
#pragma once

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sovereign::bench {

// True when `arg` is "--<name>=<value>"; sets *value.
inline bool TakeFlag(const char* arg, const char* name, std::string* value) {
  const std::string prefix = absl::StrCat("--", name, "=");
  if (!absl::StartsWith(arg, prefix)) {
    return false;
  }
  *value = std::string(arg + prefix.size());
  return true;
}

}  // namespace sovereign::bench
