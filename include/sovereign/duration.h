// The one duration syntax of every sovereign file and command.
#pragma once

#include <optional>
#include <string_view>

#include "absl/time/time.h"

namespace sovereign {

// The one duration syntax of sovereign's files: the register (default_time_limit), sovereignd's
// config (slurm.max_cluster_age), the plugin's sovereign-plugin.conf (max_cluster_age,
// user_cache_ttl), and `sovereignctl explain --time`. One or more <number><unit> groups, summed:
// units d, h, m, s, ms, us, ns; a number may have a decimal fraction ("1.5h"); e.g. "90s",
// "30m", "2h", "1d", "1h30m", "1d12h", "250ms". Also "0" and "inf" alone, and a leading '+' or
// '-'. It accepts everything each of those places accepted before they shared it (the
// register's d/h/m/s groups, absl::ParseDuration's syntax). nullopt when malformed; ranges
// (positive, whole seconds, at most 10 years, ...) are for the caller to check.
std::optional<absl::Duration> ParseDuration(std::string_view text);

}  // namespace sovereign
