// Fuzz target: a gRPC JobRequest as a client sends it to Explain and Decide (the bytes are the
// serialized sovereign.v1.JobRequest), converted by FromProto and decided as PlacementService
// decides it: against the example register and cluster (config/), then converted back
// (ToProto of the decision, as the reply carries it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "proto_convert.h"
#include "sovereign/cluster.h"
#include "sovereign/placement.h"
#include "sovereign/register.h"
#include "sovereign/v1/placement.pb.h"

namespace {

struct Example {
  std::shared_ptr<const sovereign::Register> reg;
  sovereign::ClusterSnapshot cluster;
  sovereign::ClusterView view;
};

const Example& LoadExample() {
  static const Example* example = [] {
    // Bytes that are not a JobRequest are the common case here: not worth a log line each.
    google::protobuf::SetLogHandler(nullptr);
    auto* e = new Example;
    auto reg = sovereign::Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
    auto cluster = sovereign::ClusterSnapshot::Load(SOVEREIGN_SOURCE_DIR
                                                    "/config/cluster.example.json");
    if (!reg.ok() || !cluster.ok()) {
      std::abort();  // the examples are the project's own; tests pin them
    }
    e->reg = *reg;
    e->cluster = *cluster;
    e->view = sovereign::ClusterView::Bind(e->cluster, *e->reg);
    return e;
  }();
  return *example;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Example& example = LoadExample();
  sovereign::v1::JobRequest in;
  if (!in.ParseFromArray(data, static_cast<int>(size))) {
    return 0;
  }
  const absl::Time now = absl::FromUnixSeconds(1795000000);
  auto request = sovereign::service::FromProto(in, now);
  if (!request.ok()) {
    return 0;
  }
  sovereign::Decision decision = sovereign::Decide(*request, example.view, *example.reg, now);
  sovereign::v1::Decision out;
  sovereign::service::ToProto(decision, *example.reg, &out);
  sovereign::v1::JobRequest back;
  sovereign::service::ToProto(*request, &back);
  return 0;
}
