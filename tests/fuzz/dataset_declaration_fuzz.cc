// Fuzz target: how a job declares its datasets, in what a researcher types: the --dataset list
// (AddDatasetNames) and the --comment channel (AddCommentDatasets). The first byte chooses
// which; the rest is the text. A declaration that reads must give names that are neither empty
// nor repeated, and reading it again adds nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "sovereign/dataset_declaration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool comment = (data[0] & 1) != 0;
  absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto read = [&](std::vector<std::string>* names) {
    return comment ? sovereign::AddCommentDatasets(text, names)
                   : sovereign::AddDatasetNames(text, "--dataset", names);
  };
  std::vector<std::string> names;
  if (!read(&names).ok()) {
    return 0;
  }
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() ||
      std::find(sorted.begin(), sorted.end(), "") != sorted.end()) {
    std::abort();
  }
  std::vector<std::string> again = names;
  if (!read(&again).ok() || again != names) {
    std::abort();
  }
  return 0;
}
