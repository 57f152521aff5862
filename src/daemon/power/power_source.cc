#include "power/power_source.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "power/prometheus_text.h"
#include "spdlog/spdlog.h"

namespace sovereign::power {

absl::StatusOr<std::string> HttpGet(const std::string& url, absl::Duration timeout) {
  // "http://host:port/path": the client takes the scheme, host and port; Get() the path.
  const size_t scheme_end = url.find("://");
  const size_t path_start =
      scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  const std::string base = path_start == std::string::npos ? url : url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(url, " is not an http:// or https:// URL"));
  }
  // cpp-httplib throws on what it cannot parse: our code does not let exceptions through.
  std::optional<httplib::Result> got;
  try {
    httplib::Client client(base);
    if (!client.is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(url, " is not an http:// or https:// URL"));
    }
    client.set_connection_timeout(absl::ToChronoMicroseconds(timeout));
    client.set_read_timeout(absl::ToChronoMicroseconds(timeout));
    got.emplace(client.Get(path.c_str()));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("GET ", url, ": ", e.what()));
  }
  httplib::Result& result = *got;
  if (!result) {
    return absl::UnavailableError(
        absl::StrCat("GET ", url, ": no answer (", httplib::to_string(result.error()), " error)"));
  }
  if (result->status != 200) {
    return absl::UnavailableError(absl::StrCat("GET ", url, ": HTTP status ", result->status));
  }
  return std::move(result->body);
}

namespace {

// The entry of Slurm node `node` in a map by host label value: the host named so, else one
// whose name before its first dot is the node's (a fully qualified host name); end() if none.
template <typename ByHost>
auto FindHost(ByHost& by_host, const std::string& node) -> decltype(by_host.begin()) {
  if (auto it = by_host.find(node); it != by_host.end()) {
    return it;
  }
  return std::find_if(by_host.begin(), by_host.end(), [&node](const auto& entry) {
    const size_t dot = entry.first.find('.');
    return dot != std::string::npos && entry.first.compare(0, dot, node) == 0;
  });
}

}  // namespace

const PowerReading* FindReading(const std::map<std::string, PowerReading>& readings,
                                const std::string& node) {
  auto it = FindHost(readings, node);
  return it == readings.end() ? nullptr : &it->second;
}

PowerSource::PowerSource(PowerOptions options) : options_(std::move(options)) {}

PowerSource::~PowerSource() { worker_.Stop(); }

void PowerSource::Start() {
  // The first scrape before returning: the node weights' first round, started next, then has
  // the readings, rather than setting register figures that its rate limit would then hold.
  ScrapeOnce().IgnoreError();  // logged and counted inside
  worker_.Start(absl::ToChronoMilliseconds(options_.interval),
                PeriodicWorker::FirstRound::kAfterInterval, [this] { ScrapeOnce().IgnoreError(); });
}

absl::Status PowerSource::ScrapeOnce() {
  absl::StatusOr<std::string> text = options_.fetch
                                         ? options_.fetch(options_.prometheus_url)
                                         : HttpGet(options_.prometheus_url, options_.timeout);
  const absl::Time now = options_.clock();
  // Per host, the watts of each of its GPUs in this scrape, and the newest sample time.
  struct HostScrape {
    std::map<std::string, double> gpus;
    absl::Time at = absl::InfinitePast();
  };
  std::map<std::string, HostScrape> hosts;
  absl::Status status;
  if (!text.ok()) {
    status = text.status();
  } else {
    absl::StatusOr<std::vector<PromSample>> samples =
        ParsePrometheusText(*text, options_.prometheus_url);
    if (!samples.ok()) {
      status = samples.status();
    } else {
      bool named = false;  // a series of the metric with its host label
      for (const PromSample& s : *samples) {
        const std::string* host =
            s.name == options_.metric ? s.Label(options_.host_label) : nullptr;
        if (host == nullptr || host->empty()) {
          continue;
        }
        named = true;
        if (!std::isfinite(s.value) || s.value < 0) {
          continue;  // no reading for this GPU now
        }
        HostScrape& h = hosts[*host];
        const std::string* gpu = s.Label(options_.gpu_label);
        h.gpus[gpu != nullptr ? *gpu : absl::StrCat("#", h.gpus.size())] = s.value;
        h.at = std::max(h.at,
                        s.timestamp_ms.has_value() ? absl::FromUnixMillis(*s.timestamp_ms) : now);
      }
      if (!named) {
        status =
            absl::NotFoundError(absl::StrCat(options_.prometheus_url, " has no ", options_.metric,
                                             " series with a ", options_.host_label, " label"));
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++scrapes_;
  if (!status.ok()) {
    ++failures_;
    error_ = std::string(status.message());
    if (!failing_) {
      failing_ = true;
      spdlog::warn(
          "power source: {}; each node's readings are used until they are {} old, then the "
          "register's figures",
          error_, absl::FormatDuration(options_.max_age));
    }
    return status;
  }
  for (auto& [host, scrape] : hosts) {
    if (scrape.gpus.empty()) {
      continue;
    }
    double sum = 0;
    for (const auto& [gpu, watts] : scrape.gpus) {
      sum += watts;
    }
    std::deque<Sample>& h = history_[host];
    h.push_back({scrape.at, sum / static_cast<double>(scrape.gpus.size()),
                 static_cast<int>(scrape.gpus.size())});
    while (static_cast<int>(h.size()) > std::max(options_.history, 1)) {
      h.pop_front();
    }
    IntegrateLocked(host, scrape.at, sum);
  }
  error_.clear();
  last_success_ = now;
  if (failing_ || !ever_answered_) {
    spdlog::info("power source {}{}: {} hosts with {}", options_.prometheus_url,
                 failing_ ? " answers again" : "", hosts.size(), options_.metric);
  }
  failing_ = false;
  ever_answered_ = true;
  return absl::OkStatus();
}

std::map<std::string, PowerReading> PowerSource::Readings() const {
  const absl::Time now = options_.clock();
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, PowerReading> out;
  for (const auto& [host, samples] : history_) {
    PowerReading r;
    double sum = 0;
    for (const Sample& s : samples) {
      if (now - s.at > options_.max_age) {
        continue;
      }
      sum += s.watts_per_gpu;
      ++r.samples;
      if (s.at >= r.newest) {
        r.newest = s.at;
        r.gpus = s.gpus;
      }
    }
    if (r.samples > 0) {
      r.watts_per_gpu = sum / r.samples;
      out[host] = r;
    }
  }
  return out;
}

void PowerSource::IntegrateLocked(const std::string& host, absl::Time at, double watts) {
  HostIntegral& h = energy_[host];
  if (at <= h.at) {
    return;  // the exporter's sample is not newer than the last one integrated
  }
  auto alloc = allocated_.find(host);
  if (alloc == allocated_.end()) {
    alloc = allocated_.find(host.substr(0, host.find('.')));
  }
  const double per_gpu = alloc == allocated_.end() ? -1
                         : alloc->second > 0       ? watts / alloc->second
                                                   : 0;
  EnergyPoint p = h.fine.empty() ? EnergyPoint{} : h.fine.back();
  p.at = at;
  const double dt = absl::ToDoubleSeconds(at - h.at);
  if (!h.fine.empty() && at - h.at <= options_.max_age && per_gpu >= 0 &&
      h.watts_per_allocated_gpu >= 0) {
    p.joules += (h.watts + watts) / 2 * dt;
    p.joules_per_allocated_gpu += (h.watts_per_allocated_gpu + per_gpu) / 2 * dt;
    p.covered_s += dt;
  }
  h.at = at;
  h.watts = watts;
  h.watts_per_allocated_gpu = per_gpu;
  h.fine.push_back(p);
  // Points older than energy_fine_for move to the coarse list, one per energy_coarse_every.
  while (h.fine.size() > 1 && at - h.fine.front().at > options_.energy_fine_for) {
    if (h.coarse.empty() ||
        h.fine.front().at - h.coarse.back().at >= options_.energy_coarse_every) {
      h.coarse.push_back(h.fine.front());
    }
    h.fine.pop_front();
  }
  while (!h.coarse.empty() && at - h.coarse.front().at > options_.energy_keep) {
    h.coarse.pop_front();
  }
}

PowerSource::EnergyPoint PowerSource::PointAt(const HostIntegral& h, absl::Time t) {
  // The points in time order: coarse, then fine (never empty once the host was seen).
  const size_t n = h.coarse.size() + h.fine.size();
  auto point = [&h](size_t i) -> const EnergyPoint& {
    return i < h.coarse.size() ? h.coarse[i] : h.fine[i - h.coarse.size()];
  };
  if (t <= point(0).at) {
    return point(0);
  }
  if (t >= point(n - 1).at) {
    return point(n - 1);
  }
  // The first point after t.
  size_t lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    (point(mid).at <= t ? lo : hi) = mid;
  }
  const EnergyPoint& a = point(lo);
  const EnergyPoint& b = point(hi);
  const double f = absl::FDivDuration(t - a.at, b.at - a.at);
  EnergyPoint p;
  p.at = t;
  p.joules = a.joules + f * (b.joules - a.joules);
  p.joules_per_allocated_gpu =
      a.joules_per_allocated_gpu + f * (b.joules_per_allocated_gpu - a.joules_per_allocated_gpu);
  p.covered_s = a.covered_s + f * (b.covered_s - a.covered_s);
  return p;
}

void PowerSource::SetAllocatedGpus(std::map<std::string, int> by_node) {
  std::lock_guard<std::mutex> lock(mu_);
  allocated_ = std::move(by_node);
}

std::optional<HostEnergy> PowerSource::EnergyOver(const std::string& node, absl::Time from,
                                                  absl::Time to) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = FindHost(energy_, node);
  if (it == energy_.end() || it->second.fine.empty() || to < from) {
    return std::nullopt;
  }
  const EnergyPoint a = PointAt(it->second, from);
  const EnergyPoint b = PointAt(it->second, to);
  HostEnergy e;
  e.joules = b.joules - a.joules;
  e.joules_per_allocated_gpu = b.joules_per_allocated_gpu - a.joules_per_allocated_gpu;
  e.covered = absl::Seconds(b.covered_s - a.covered_s);
  e.newest = it->second.at;
  return e;
}

PowerSource::Stats PowerSource::stats() const {
  std::map<std::string, PowerReading> fresh = Readings();
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.url = options_.prometheus_url;
  s.scrapes = scrapes_;
  s.failures = failures_;
  s.error = error_;
  s.last_success = last_success_;
  s.hosts = static_cast<int>(fresh.size());
  return s;
}

}  // namespace sovereign::power
