#include "support/synthetic_exporter.h"

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sovereign::testing {

SyntheticExporter::SyntheticExporter() : server_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<SyntheticExporter>> SyntheticExporter::Start() {
  std::unique_ptr<SyntheticExporter> e(new SyntheticExporter());
  SyntheticExporter* self = e.get();
  e->server_->Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(self->mu_);
    ++self->requests_;
    if (self->overridden_) {
      res.status = self->override_status_;
      res.set_content(self->override_body_, "text/plain; version=0.0.4");
      return;
    }
    res.set_content(self->PageLocked(), "text/plain; version=0.0.4");
  });
  e->port_ = e->server_->bind_to_any_port("127.0.0.1");
  if (e->port_ <= 0) {
    return absl::UnavailableError("synthetic exporter: cannot bind 127.0.0.1");
  }
  e->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  // Until it listens, stop() would be lost (and the destructor would wait for ever).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!e->server_->is_running()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("synthetic exporter: not listening after 10 s");
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return e;
}

SyntheticExporter::~SyntheticExporter() {
  server_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string SyntheticExporter::url() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/metrics");
}

void SyntheticExporter::SetNode(const std::string& host, const std::vector<double>& gpu_watts) {
  std::lock_guard<std::mutex> lock(mu_);
  if (gpu_watts.empty()) {
    nodes_.erase(host);
  } else {
    nodes_[host] = gpu_watts;
  }
}

void SyntheticExporter::Override(int status, const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  overridden_ = true;
  override_status_ = status;
  override_body_ = body;
}

void SyntheticExporter::ClearOverride() {
  std::lock_guard<std::mutex> lock(mu_);
  overridden_ = false;
}

std::string SyntheticExporter::Page() const {
  std::lock_guard<std::mutex> lock(mu_);
  return PageLocked();
}

std::string SyntheticExporter::PageLocked() const {
  std::string out =
      "# SYNTHETIC figures set by a test, not measured.\n"
      "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n"
      "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n";
  for (const auto& [host, gpus] : nodes_) {
    for (size_t i = 0; i < gpus.size(); ++i) {
      absl::StrAppend(&out, "DCGM_FI_DEV_POWER_USAGE{gpu=\"", i, "\",UUID=\"GPU-synthetic-", host,
                      "-", i, "\",device=\"nvidia", i, "\",modelName=\"synthetic\",Hostname=\"",
                      host, "\"} ", gpus[i], "\n");
    }
  }
  return out;
}

int SyntheticExporter::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

}  // namespace sovereign::testing
