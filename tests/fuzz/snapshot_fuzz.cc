// Fuzz target: the snapshot file the plugin decides from (DecodeSnapshot: header, length,
// checksum, JSON body, the register inside it, the cluster view), then decisions against it as
// the plugin makes them (Decide, with the live and the static view, and the text explain gives
// for every excluded partition).
//
// The header carries the body's SHA-256, which random bytes never match. So the first byte
// chooses: even, the rest is the whole file, header and all; odd, the rest is the body and the
// target writes the header that fits it, so that the fuzzer reaches the body's reader.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "sovereign/digest.h"
#include "sovereign/placement.h"
#include "sovereign/snapshot_file.h"

namespace {

void DecideAgainst(const sovereign::snapshot::LoadedSnapshot& snap) {
  const sovereign::Register& reg = *snap.reg;
  sovereign::JobRequest request;
  request.user = "root";
  request.groups = {"root"};
  request.gpus = 1;
  // An unlabelled job, then one job per dataset the register declares.
  std::vector<std::vector<std::string>> labels = {{}};
  for (const sovereign::Dataset& d : reg.datasets()) {
    labels.push_back({d.name});
  }
  const absl::Time now = absl::FromUnixSeconds(1795000000);
  for (const std::vector<std::string>& datasets : labels) {
    request.datasets = datasets;
    for (const sovereign::ClusterView* view : {&snap.view, &snap.static_view}) {
      sovereign::Decision d = sovereign::Decide(request, *view, reg, now);
      for (const sovereign::Candidate& c : d.candidates) {
        (void)sovereign::DescribeExclusion(c, d, reg);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string bytes = (data[0] & 1) == 0
                          ? rest
                          : absl::StrCat("SOVEREIGN-SNAPSHOT 1 ", rest.size(), " ",
                                         sovereign::Sha256Hex(rest), "\n", rest);
  auto snap = sovereign::snapshot::DecodeSnapshot(bytes, "fuzz-snapshot");
  if (snap.ok()) {
    DecideAgainst(**snap);
  }
  return 0;
}
