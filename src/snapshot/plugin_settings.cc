#include "sovereign/plugin_settings.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/file_io.h"
#include "sovereign/duration.h"

namespace sovereign {
namespace {

absl::StatusOr<bool> ParseYesNo(absl::string_view v) {
  if (v == "yes" || v == "true" || v == "1") {
    return true;
  }
  if (v == "no" || v == "false" || v == "0") {
    return false;
  }
  return absl::InvalidArgumentError("expected yes or no");
}

}  // namespace

absl::StatusOr<PluginSettings> ParsePluginSettings(std::string_view text,
                                                   const std::string& source) {
  PluginSettings o;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) {
      continue;
    }
    auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line_no, ": ", why));
    };
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return fail(absl::StrCat("expected \"key = value\", got \"", line, "\""));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key == "snapshot") {
      o.snapshot_path = value;
    } else if (key == "spool") {
      o.spool_dir = value;
    } else if (key == "region_feature_prefix") {
      o.region_feature_prefix = value;
    } else if (key == "site_feature_prefix") {
      o.site_feature_prefix = value;
    } else if (key == "spool_fdatasync") {
      absl::StatusOr<bool> b = ParseYesNo(value);
      if (!b.ok()) {
        return fail(absl::StrCat("spool_fdatasync: \"", value, "\": expected yes or no"));
      }
      o.spool_fdatasync = *b;
    } else if (key == "max_cluster_age" || key == "user_cache_ttl") {
      std::optional<absl::Duration> d = ParseDuration(value);
      if (!d.has_value() || *d < absl::ZeroDuration()) {
        return fail(absl::StrCat(key, ": \"", value, "\": expected a duration such as 30s or 5m"));
      }
      (key == "max_cluster_age" ? o.max_cluster_age : o.user_cache_ttl) = *d;
    } else {
      return fail(absl::StrCat(
          "unknown key \"", key,
          "\" (known: snapshot, spool, spool_fdatasync, max_cluster_age, site_feature_prefix, "
          "region_feature_prefix, user_cache_ttl)"));
    }
  }
  return o;
}

absl::StatusOr<PluginSettings> ReadPluginSettings(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return text.status();
  }
  return ParsePluginSettings(*text, path);
}

std::string PluginSettingsBeside(const std::string& slurm_conf) {
  const size_t slash = slurm_conf.find_last_of('/');
  if (slash == std::string::npos) {
    return "./sovereign-plugin.conf";
  }
  return absl::StrCat(slash == 0 ? "" : slurm_conf.substr(0, slash), "/sovereign-plugin.conf");
}

std::string PluginSettingsPath() {
  if (const char* p = std::getenv("SOVEREIGN_PLUGIN_CONF"); p != nullptr && *p != '\0') {
    return p;
  }
  if (const char* p = std::getenv("SLURM_CONF"); p != nullptr && *p != '\0') {
    return PluginSettingsBeside(p);
  }
  return "/etc/slurm/sovereign-plugin.conf";
}

}  // namespace sovereign
