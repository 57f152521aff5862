#include "sovereign/slurm_tres.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sovereign {

absl::StatusOr<int> GpusInTres(const char* tres, std::string* type) {
  if (tres == nullptr) {
    return 0;
  }
  int total = 0;
  for (absl::string_view entry : absl::StrSplit(tres, absl::ByAnyChar(",;"), absl::SkipEmpty())) {
    absl::string_view e = entry;
    if (!absl::ConsumePrefix(&e, "gres:") && !absl::ConsumePrefix(&e, "gres/")) {
      continue;
    }
    if (!absl::ConsumePrefix(&e, "gpu")) {
      continue;
    }
    if (!e.empty() && e[0] != ':' && e[0] != '=') {
      continue;  // another GRES whose name starts with "gpu"
    }
    // e is now "", ":N", ":type:N", ":type", "=N" or ":type=N".
    std::vector<absl::string_view> parts = absl::StrSplit(e, absl::ByAnyChar(":="), absl::SkipEmpty());
    int count = 1;
    absl::string_view gpu_type;
    if (!parts.empty()) {
      if (absl::SimpleAtoi(parts.back(), &count)) {
        if (parts.size() > 1) {
          gpu_type = parts[parts.size() - 2];
        }
      } else if (parts.size() == 1) {
        gpu_type = parts[0];
        count = 1;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("GPU request \"", entry, "\": count \"", parts.back(), "\" is not a number"));
      }
    }
    if (count < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("GPU request \"", entry, "\": negative count"));
    }
    if (!gpu_type.empty() && type != nullptr) {
      *type = std::string(gpu_type);
    }
    total += count;
  }
  return total;
}

absl::StatusOr<int> JobGpus(const char* tres_per_job, const char* tres_per_node,
                            const char* tres_per_task, int nodes, int tasks, std::string* type) {
  absl::StatusOr<int> per_job = GpusInTres(tres_per_job, type);
  absl::StatusOr<int> per_node = GpusInTres(tres_per_node, type);
  absl::StatusOr<int> per_task = GpusInTres(tres_per_task, type);
  for (const auto* s : {&per_job, &per_node, &per_task}) {
    if (!s->ok()) {
      return s->status();
    }
  }
  if (*per_job > 0) {
    return *per_job;
  }
  if (*per_node > 0) {
    return *per_node * std::max(nodes, 1);
  }
  return *per_task * std::max(tasks, 1);
}

}  // namespace sovereign
