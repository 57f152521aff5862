// A synthetic GPU power exporter for tests and the demo: an HTTP server on 127.0.0.1 (a free
// port) that serves /metrics in the Prometheus text format, shaped like NVIDIA's DCGM exporter
// (DCGM_FI_DEV_POWER_USAGE{gpu="0",Hostname="<node>",...} <watts>). The figures are whatever the
// test sets: nothing is measured, no GPU is involved.
//
//   absl::StatusOr<std::unique_ptr<SyntheticExporter>> e = SyntheticExporter::Start();
//   (*e)->SetNode("fr-a100-2", {100, 100});  // two GPUs at 100 W
//   ... power: {prometheus_url: (*e)->url()} ...
//
// Thread-safety: every method may be called from any thread while the server answers.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace sovereign::testing {

class SyntheticExporter {
 public:
  static absl::StatusOr<std::unique_ptr<SyntheticExporter>> Start();
  ~SyntheticExporter();  // stops the server and joins its thread
  SyntheticExporter(const SyntheticExporter&) = delete;
  SyntheticExporter& operator=(const SyntheticExporter&) = delete;

  int port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:<port>/metrics

  // The watts of each GPU of `host` (GPU i is gpu="i"); an empty list removes the host.
  void SetNode(const std::string& host, const std::vector<double>& gpu_watts);
  // Serve this status and text instead of the figures (garbage, an error page) until
  // ClearOverride().
  void Override(int status, const std::string& body);
  void ClearOverride();
  // The page as served now (without an override).
  std::string Page() const;
  // Requests answered so far.
  int requests() const;

 private:
  SyntheticExporter();
  std::string PageLocked() const;  // mu_ held

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<double>> nodes_;
  bool overridden_ = false;
  int override_status_ = 200;
  std::string override_body_;
  int requests_ = 0;
};

}  // namespace sovereign::testing
