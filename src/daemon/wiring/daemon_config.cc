#include "wiring/daemon_config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <optional>
#include <type_traits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "register_lifecycle/register_impact.h"
#include "register_lifecycle/register_manager.h"
#include "sovereign/duration.h"
#include "sovereign/file_io.h"
#include "sovereign/unix_accounts.h"

namespace sovereign::service {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view filename) : filename_(filename) {}
  const std::string& filename() const { return filename_; }

  void Error(const YAML::Node& node, const std::string& key, const std::string& message) {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) {
      errors_.push_back(absl::StrCat(filename_, ": ", key, ": ", message));
    } else {
      errors_.push_back(absl::StrCat(filename_, ":", mark.line + 1, ":", mark.column + 1, ": ", key,
                                     ": ", message));
    }
  }

  // Calls handlers[key] for each key of the mapping `node`; unknown keys are errors.
  void Map(const YAML::Node& node, const std::string& prefix,
           const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>&
               handlers) {
    if (!node.IsMap()) {
      Error(node, prefix.empty() ? "config" : prefix, "must be a mapping");
      return;
    }
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      std::string full = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
      auto it = handlers.find(key);
      if (it == handlers.end()) {
        std::vector<std::string> known;
        for (const auto& h : handlers) {
          known.push_back(h.first);
        }
        Error(kv.first, full,
              absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
        continue;
      }
      it->second(kv.second, full);
    }
  }

  void String(const YAML::Node& node, const std::string& key, std::string* out) {
    if (!node.IsScalar()) {
      Error(node, key, "must be a string");
      return;
    }
    *out = node.Scalar();
  }

  void Bool(const YAML::Node& node, const std::string& key, bool* out) {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      Error(node, key,
            absl::StrCat("\"", node.IsScalar() ? node.Scalar() : "", "\" is not true or false"));
      return;
    }
    *out = value;
  }

  void Int(const YAML::Node& node, const std::string& key, int64_t min, int64_t max, int64_t* out) {
    int64_t value = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value) || value < min ||
        value > max) {
      Error(node, key,
            absl::StrCat("\"", node.IsScalar() ? node.Scalar() : "",
                         "\" is not a whole number from ", min, " to ", max));
      return;
    }
    *out = value;
  }

  // A duration in the syntax every sovereign file shares (sovereign::ParseDuration), not negative.
  void Duration(const YAML::Node& node, const std::string& key, absl::Duration* out) {
    std::optional<absl::Duration> value;
    if (node.IsScalar()) {
      value = ParseDuration(node.Scalar());
    }
    if (!value.has_value() || *value < absl::ZeroDuration()) {
      Error(node, key,
            absl::StrCat("\"", node.IsScalar() ? node.Scalar() : "",
                         "\" is not a duration such as 30s, 5m or 1h30m"));
      return;
    }
    *out = *value;
  }

  // A Duration longer than zero.
  void PositiveDuration(const YAML::Node& node, const std::string& key, absl::Duration* out) {
    absl::Duration value = *out;
    const size_t errors = errors_.size();
    Duration(node, key, &value);
    if (errors_.size() != errors) {
      return;
    }
    if (value <= absl::ZeroDuration()) {
      Error(node, key, absl::StrCat("\"", node.Scalar(), "\" must be longer than zero"));
      return;
    }
    *out = value;
  }

  // "5%" (or "0.5%", "0%") up to 100%, stored as a fraction (0.05).
  void Percentage(const YAML::Node& node, const std::string& key, double* out) {
    double value = 0;
    const std::string text = node.IsScalar() ? node.Scalar() : "";
    if (text.size() < 2 || text.back() != '%' ||
        !absl::SimpleAtod(text.substr(0, text.size() - 1), &value) || !(value >= 0) ||
        value > 100) {
      Error(node, key,
            absl::StrCat("\"", text, "\" is not a percentage from 0% to 100%, such as 5%"));
      return;
    }
    *out = value / 100;
  }

  void Ids(const YAML::Node& node, const std::string& key, bool groups,
           std::vector<uint32_t>* out) {
    if (!node.IsSequence()) {
      Error(node, key, "must be a list");
      return;
    }
    out->clear();
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) {
        Error(item, key, "entries must be names or numeric ids");
        continue;
      }
      uint32_t id = 0;
      if (absl::SimpleAtoi(item.Scalar(), &id)) {
        out->push_back(id);
        continue;
      }
      if (groups) {
        absl::StatusOr<UnixGroup> group = GroupByName(item.Scalar());
        if (group.ok()) {
          out->push_back(group->gid);
        } else if (absl::IsNotFound(group.status())) {
          Error(item, key, absl::StrCat("group \"", item.Scalar(), "\" does not exist"));
        } else {
          Error(item, key, std::string(group.status().message()));
        }
      } else {
        absl::StatusOr<UnixUser> user = UserByName(item.Scalar());
        if (user.ok()) {
          out->push_back(user->uid);
        } else if (absl::IsNotFound(user.status())) {
          Error(item, key, absl::StrCat("user \"", item.Scalar(), "\" does not exist"));
        } else {
          Error(item, key, std::string(user.status().message()));
        }
      }
    }
  }

  void Strings(const YAML::Node& node, const std::string& key, std::vector<std::string>* out) {
    if (!node.IsSequence()) {
      Error(node, key, "must be a list");
      return;
    }
    out->clear();
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) {
        Error(item, key, "entries must be strings");
        continue;
      }
      out->push_back(item.Scalar());
    }
  }

  void Role(const YAML::Node& node, const std::string& key, RoleMembers* out) {
    Map(node, key,
        {{"users",
          [&](const YAML::Node& n, const std::string& k) { Ids(n, k, false, &out->uids); }},
         {"groups",
          [&](const YAML::Node& n, const std::string& k) { Ids(n, k, true, &out->gids); }},
         {"common_names",
          [&](const YAML::Node& n, const std::string& k) { Strings(n, k, &out->common_names); }}});
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string filename_;
  std::vector<std::string> errors_;
};

}  // namespace

DaemonConfig::DaemonConfig() {
  audit.path = "/var/lib/sovereign/audit.db";
  audit.signing_key_path = "/var/lib/sovereign/audit-signing.pem";
  roles.admins.uids = {0};
  roles.auditors.uids = {0};
  roles.service.uids = {0};
}

absl::StatusOr<DaemonConfig> ParseDaemonConfig(std::string_view yaml, std::string_view filename) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(filename), ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": ", e.msg));
  }
  DaemonConfig c;
  if (root.IsNull()) {
    return c;  // an empty file: every default
  }
  Parser p(filename);
  YAML::Node weights_key;  // the weights: mapping, for an error about it
  // slurm.max_cluster_age and its older spelling slurm.max_cluster_age_s: one of them.
  std::vector<YAML::Node> cluster_age_keys;
  // A handler storing a whole number from `min` to `max` into *out.
  auto int_field = [&p](auto* out, int64_t min, int64_t max) {
    return [&p, out, min, max](const YAML::Node& v, const std::string& key) {
      int64_t value = *out;
      p.Int(v, key, min, max, &value);
      *out = static_cast<std::remove_reference_t<decltype(*out)>>(value);
    };
  };
  try {
    p.Map(
        root, "",
        {{"socket",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"path", [&](const YAML::Node& v,
                                const std::string& kk) { p.String(v, kk, &c.socket_path); }},
                   {"mode", [&](const YAML::Node& v, const std::string& kk) {
                      unsigned mode = 0;
                      bool octal = v.IsScalar() && !v.Scalar().empty() && v.Scalar().size() <= 4 &&
                                   v.Scalar().find_first_not_of("01234567") == std::string::npos;
                      if (octal) {
                        mode = static_cast<unsigned>(std::stoul(v.Scalar(), nullptr, 8));
                      }
                      if (!octal || mode > 0777) {
                        p.Error(v, kk,
                                absl::StrCat("\"", v.IsScalar() ? v.Scalar() : "",
                                             "\" is not an octal mode such as \"0666\""));
                        return;
                      }
                      c.socket_mode = static_cast<mode_t>(mode);
                    }}});
          }},
         {"register",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"path", [&](const YAML::Node& v,
                                const std::string& kk) { p.String(v, kk, &c.register_path); }},
                   {"write_back",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.Bool(v, kk, &c.register_write_back);
                    }},
                   {"history_database", [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.register_history_path);
                    }}});
          }},
         {"cluster",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k, {{"snapshot", [&](const YAML::Node& v, const std::string& kk) {
                            p.String(v, kk, &c.cluster_snapshot_path);
                          }}});
          }},
         {"audit",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"enabled", [&](const YAML::Node& v,
                                   const std::string& kk) { p.Bool(v, kk, &c.audit_enabled); }},
                   {"database", [&](const YAML::Node& v,
                                    const std::string& kk) { p.String(v, kk, &c.audit.path); }},
                   {"signing_key",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.audit.signing_key_path);
                    }},
                   {"checkpoint_interval",
                    int_field(&c.audit.checkpoint_interval, 0, int64_t{1} << 40)},
                   {"sync",
                    [&](const YAML::Node& v, const std::string& kk) {
                      std::string s;
                      p.String(v, kk, &s);
                      if (s == "normal") {
                        c.audit.sync = audit::Sync::kNormal;
                      } else if (s == "full") {
                        c.audit.sync = audit::Sync::kFull;
                      } else if (v.IsScalar()) {
                        p.Error(v, kk, absl::StrCat("\"", s, "\" is not one of normal, full"));
                      }
                    }},
                   {"commit_window_us", [&](const YAML::Node& v, const std::string& kk) {
                      int64_t value = c.audit.commit_window.count();
                      p.Int(v, kk, 0, 1000000, &value);
                      c.audit.commit_window = std::chrono::microseconds(value);
                    }}});
          }},
         {"slurm",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"slurm_conf",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.slurm.slurm_conf);
                    }},
                   {"plugin_conf",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.slurm.plugin_conf);
                    }},
                   {"snapshot",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.slurm.snapshot_path);
                    }},
                   {"spool", [&](const YAML::Node& v,
                                 const std::string& kk) { p.String(v, kk, &c.slurm.spool_dir); }},
                   {"publish_interval_ms",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.Int(v, kk, 100, 3600000, &c.slurm.publish_interval_ms);
                    }},
                   {"ingest_interval_ms",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.Int(v, kk, 1, 60000, &c.slurm.ingest_interval_ms);
                    }},
                   {"reconcile_interval_ms",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.Int(v, kk, 100, 3600000, &c.slurm.reconcile_interval_ms);
                    }},
                   {"rederive_after_s",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.Int(v, kk, 1, 86400, &c.slurm.rederive_after_s);
                    }},
                   {"max_cluster_age",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.Duration(v, kk, &c.slurm.max_cluster_age);
                      cluster_age_keys.push_back(v);
                    }},
                   {"max_cluster_age_s",
                    [&](const YAML::Node& v, const std::string& kk) {
                      int64_t seconds = absl::ToInt64Seconds(c.slurm.max_cluster_age);
                      p.Int(v, kk, 1, 86400, &seconds);
                      c.slurm.max_cluster_age = absl::Seconds(seconds);
                      cluster_age_keys.push_back(v);
                    }},
                   {"running_at_risk", [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.slurm.running_at_risk);
                      if (!ParseAtRiskAction(c.slurm.running_at_risk).ok()) {
                        p.Error(v, kk,
                                absl::StrCat("\"", c.slurm.running_at_risk,
                                             "\" is not one of flag, requeue, cancel"));
                      }
                    }}});
          }},
         {"carbon",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"series_dir",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.slurm.carbon_series_dir);
                    }},
                   {"basis", [&](const YAML::Node& v, const std::string& kk) {
                      std::string basis;
                      p.String(v, kk, &basis);
                      if (basis == "market-based") {
                        c.slurm.carbon_basis = CarbonBasis::kMarket;
                      } else if (basis != "location-based" && v.IsScalar()) {
                        p.Error(v, kk,
                                absl::StrCat("\"", basis,
                                             "\" is not one of location-based, "
                                             "market-based"));
                      }
                    }}});
          }},
         {"power",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(
                n, k,
                {{"prometheus_url",
                  [&](const YAML::Node& v, const std::string& kk) {
                    p.String(v, kk, &c.power.prometheus_url);
                    const std::string& url = c.power.prometheus_url;
                    if (v.IsScalar() && !url.empty() && url.rfind("http://", 0) != 0 &&
                        url.rfind("https://", 0) != 0) {
                      p.Error(v, kk,
                              absl::StrCat("\"", url,
                                           "\" is not an http:// or https:// URL such as "
                                           "http://127.0.0.1:9400/metrics"));
                    }
                  }},
                 {"metric", [&](const YAML::Node& v,
                                const std::string& kk) { p.String(v, kk, &c.power.metric); }},
                 {"host_label",
                  [&](const YAML::Node& v, const std::string& kk) {
                    p.String(v, kk, &c.power.host_label);
                  }},
                 {"gpu_label", [&](const YAML::Node& v,
                                   const std::string& kk) { p.String(v, kk, &c.power.gpu_label); }},
                 {"interval",
                  [&](const YAML::Node& v, const std::string& kk) {
                    p.PositiveDuration(v, kk, &c.power.interval);
                  }},
                 {"max_age",
                  [&](const YAML::Node& v, const std::string& kk) {
                    p.PositiveDuration(v, kk, &c.power.max_age);
                  }},
                 {"history", int_field(&c.power.history, 1, 1000)}});
          }},
         {"weights",
          [&](const YAML::Node& n, const std::string& k) {
            weights_key = n;
            p.Map(n, k,
                  {{"enabled", [&](const YAML::Node& v,
                                   const std::string& kk) { p.Bool(v, kk, &c.weights.enabled); }},
                   {"interval",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.PositiveDuration(v, kk, &c.weights.interval);
                    }},
                   {"min_interval",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.Duration(v, kk, &c.weights.min_interval);
                    }},
                   {"hysteresis", [&](const YAML::Node& v, const std::string& kk) {
                      p.Percentage(v, kk, &c.weights.hysteresis);
                    }}});
          }},
         {"tcp",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"listen", [&](const YAML::Node& v,
                                  const std::string& kk) { p.String(v, kk, &c.tcp.listen); }},
                   {"certificate",
                    [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.tcp.certificate);
                    }},
                   {"key", [&](const YAML::Node& v,
                               const std::string& kk) { p.String(v, kk, &c.tcp.key); }},
                   {"client_ca", [&](const YAML::Node& v, const std::string& kk) {
                      p.String(v, kk, &c.tcp.client_ca);
                    }}});
          }},
         {"roles",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"admins", [&](const YAML::Node& v,
                                  const std::string& kk) { p.Role(v, kk, &c.roles.admins); }},
                   {"auditors", [&](const YAML::Node& v,
                                    const std::string& kk) { p.Role(v, kk, &c.roles.auditors); }},
                   {"service", [&](const YAML::Node& v, const std::string& kk) {
                      p.Role(v, kk, &c.roles.service);
                    }}});
          }},
         {"log",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k, {{"level", [&](const YAML::Node& v, const std::string& kk) {
                            static const char* kLevels[] = {"trace", "debug",    "info", "warn",
                                                            "error", "critical", "off"};
                            p.String(v, kk, &c.log_level);
                            for (const char* level : kLevels) {
                              if (c.log_level == level) {
                                return;
                              }
                            }
                            p.Error(v, kk,
                                    absl::StrCat("\"", c.log_level,
                                                 "\" is not one of trace, debug, info, warn, "
                                                 "error, critical, off"));
                          }}});
          }},
         {"server",
          [&](const YAML::Node& n, const std::string& k) {
            p.Map(n, k,
                  {{"max_threads", int_field(&c.max_threads, 0, 4096)},
                   {"min_pollers", int_field(&c.min_pollers, 1, 64)},
                   {"max_pollers", int_field(&c.max_pollers, 1, 64)}});
          }},
         {"limits", [&](const YAML::Node& n, const std::string& k) {
            p.Map(
                n, k,
                {{"user_calls_per_second", int_field(&c.user_limits.calls_per_second, 1, 1000000)},
                 {"user_burst", int_field(&c.user_limits.burst, 1, 1000000)},
                 {"user_streams", int_field(&c.user_limits.streams, 0, 1024)}});
          }}});
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(p.filename(), ": ", e.what()));
  }
  if (cluster_age_keys.size() > 1) {
    p.Error(cluster_age_keys.back(), "slurm.max_cluster_age",
            "give max_cluster_age or max_cluster_age_s, not both");
  }
  if (c.weights.enabled && c.slurm.slurm_conf.empty()) {
    const YAML::Node& weights = weights_key;
    p.Error(weights["enabled"], "weights.enabled",
            "node weights need the Slurm side: set slurm.slurm_conf");
  }
  if (!c.tcp.listen.empty() &&
      (c.tcp.certificate.empty() || c.tcp.key.empty() || c.tcp.client_ca.empty())) {
    std::vector<std::string> missing;
    for (const auto& [name, value] :
         {std::pair<const char*, const std::string*>{"certificate", &c.tcp.certificate},
          {"key", &c.tcp.key},
          {"client_ca", &c.tcp.client_ca}}) {
      if (value->empty()) {
        missing.push_back(absl::StrCat("tcp.", name));
      }
    }
    p.Error(root["tcp"], "tcp.listen",
            absl::StrCat("\"", c.tcp.listen, "\" needs mutual TLS: set ",
                         absl::StrJoin(missing, ", ")));
  }
  if (!p.errors().empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(p.errors(), "\n"));
  }
  return c;
}

absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return text.status();
  }
  return ParseDaemonConfig(*text, path);
}

}  // namespace sovereign::service
