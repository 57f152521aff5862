// Writes the seeds of the fuzz targets whose inputs the product itself produces: spool
// records and segments (the plugin's encoder and SpoolWriter), snapshots (EncodeSnapshot) and
// gRPC JobRequests (ToProto), from the example register and cluster in config/. The other
// seeds are written by hand. Run it again when one of those formats changes:
//   cmake --build build-fuzz --target fuzz_seeds && build-fuzz/tests/fuzz/fuzz_seeds tests/fuzz/corpus
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "proto_convert.h"
#include "sovereign/cluster.h"
#include "sovereign/file_io.h"
#include "sovereign/placement.h"
#include "sovereign/register.h"
#include "sovereign/snapshot_file.h"
#include "sovereign/spool.h"
#include "sovereign/spool_record.h"
#include "sovereign/v1/placement.pb.h"

namespace fs = std::filesystem;

namespace {

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
}

template <typename T>
T OrDie(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", std::string(v.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(v);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR (tests/fuzz/corpus)\n");
    return 2;
  }
  const fs::path out = argv[1];
  const std::string yaml = OrDie(sovereign::ReadFileToString(
      SOVEREIGN_SOURCE_DIR "/config/register.example.yaml"));
  auto reg = OrDie(sovereign::Register::Parse(yaml, "register.example.yaml"));
  auto cluster =
      OrDie(sovereign::ClusterSnapshot::Load(SOVEREIGN_SOURCE_DIR "/config/cluster.example.json"));
  const sovereign::ClusterView view = sovereign::ClusterView::Bind(cluster, *reg);
  const absl::Time now = absl::FromUnixSeconds(1795000000);

  // Requests: unlabelled, labelled, refused.
  std::vector<sovereign::JobRequest> requests(3);
  for (sovereign::JobRequest& r : requests) {
    r.user = "alice";
    r.uid = 1001;
    r.groups = {"alice", "oncology"};
    r.account = "oncology";
    r.gpus = 8;
    r.time_limit = absl::Hours(4);
    r.submit_time = now;
  }
  requests[1].datasets = {"patients-eu"};
  requests[1].gpu_type = "a100";
  requests[2].datasets = {"patients-eu", "no-such-dataset"};
  requests[2].partitions = {"gpu-us-h100"};
  requests[2].time_limit = absl::ZeroDuration();

  std::string spool_dir = (fs::temp_directory_path() / "sovereign-fuzz-seeds-XXXXXX").string();
  if (mkdtemp(spool_dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  auto writer = OrDie(sovereign::spool::SpoolWriter::Open({.dir = spool_dir}));
  for (size_t i = 0; i < requests.size(); ++i) {
    sovereign::spool::SpooledDecision d;
    d.decision_id = "seed-" + std::to_string(i);
    d.request = requests[i];
    d.decision = sovereign::Decide(requests[i], view, *reg, now);
    d.job_id = i == 0 ? 0 : 4100 + static_cast<uint32_t>(i);
    d.source = i == 2 ? "plugin-modify" : "plugin";
    std::string payload;
    sovereign::spool::EncodeSpooledDecision(d, &payload);
    Write(out / "spool_record" / ("decision-" + std::to_string(i) + ".json"), payload);
    if (!writer->Append(payload).ok()) {
      return 1;
    }

    sovereign::v1::JobRequest proto;
    sovereign::service::ToProto(requests[i], &proto);
    Write(out / "job_request" / ("request-" + std::to_string(i) + ".pb"),
          proto.SerializeAsString());
  }
  // The segment: first byte 0, the newest segment; 1, an older one (a newer segment follows).
  const std::string segment = OrDie(sovereign::ReadFileToString(writer->current_segment()));
  Write(out / "spool_segment" / "newest.seg", std::string(1, '\x0e') + segment);
  Write(out / "spool_segment" / "older-torn.seg",
        std::string(1, '\x01') + segment + segment.substr(0, segment.size() / 3));
  writer.reset();
  fs::remove_all(spool_dir);

  // The snapshot: first byte 0, the whole file; 1, its body (the target writes the header).
  const std::string snapshot = sovereign::snapshot::EncodeSnapshot(
      yaml, "register.example.yaml", *reg, cluster, now);
  Write(out / "snapshot" / "example.snap", std::string(1, '\0') + snapshot);
  Write(out / "snapshot" / "example.body",
        std::string(1, '\1') + snapshot.substr(snapshot.find('\n') + 1));
  return 0;
}
