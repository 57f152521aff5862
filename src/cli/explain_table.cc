#include "explain_table.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace sovereign::cli {
namespace {

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string Plural(int64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string ListOrNone(const std::vector<std::string>& items) {
  return items.empty() ? std::string("none") : absl::StrJoin(items, ", ");
}

std::string VerdictLine(const Decision& d) {
  if (d.verdict == Verdict::kPlace) {
    return absl::StrCat("place on ", d.partition_name, " (region ", d.region, ")");
  }
  return absl::StrCat("reject (", std::string(RejectCodeName(d.code)), ")");
}

std::string JobLine(const JobRequest& r, const Register& reg) {
  std::string gpus = Plural(r.gpus, "GPU", "GPUs");
  if (!r.gpu_type.empty()) {
    absl::StrAppend(&gpus, " of type ", r.gpu_type);
  }
  if (r.nodes > 0) {
    absl::StrAppend(&gpus, " on ", Plural(r.nodes, "node", "nodes"));
  }
  const std::string time = r.time_limit > absl::ZeroDuration()
                               ? absl::FormatDuration(r.time_limit)
                               : absl::StrCat(absl::FormatDuration(reg.policy().default_time_limit),
                                              " (the register's default time limit)");
  return absl::StrCat(
      gpus, " for ", time, "; user ", r.user, " (uid ", r.uid, ", groups ", ListOrNone(r.groups),
      "); account ", r.account.empty() ? std::string("none") : r.account, "; declared datasets ",
      ListOrNone(r.datasets),
      r.partitions.empty() ? std::string()
                           : absl::StrCat("; -p ", absl::StrJoin(r.partitions, ",")));
}

std::string StatusOf(const Candidate& c) {
  if (c.exclusion != Exclusion::kEligible) {
    return "excluded";
  }
  return c.rank == 1 ? "chosen" : "eligible";
}

// Columns are padded to their widest cell; numbers are right-aligned.
std::string Table(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& right_aligned) {
  std::vector<size_t> width(right_aligned.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool last = i + 1 == row.size();
      const std::string pad(width[i] - row[i].size(), ' ');
      if (right_aligned[i]) {
        absl::StrAppend(&line, pad, row[i]);
      } else {
        absl::StrAppend(&line, row[i], last ? "" : pad);
      }
      if (!last) {
        line += "  ";
      }
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace

std::string RenderDecision(const Decision& d, const JobRequest& request, const Register& reg,
                           const ClusterSource& cluster) {
  std::string out;
  absl::StrAppend(&out, "verdict:  ", VerdictLine(d), "\n");
  absl::StrAppend(&out, "reason:   ", d.reason, "\n");
  absl::StrAppend(&out, "job:      ", JobLine(request, reg), "\n");
  // Allowed regions are known only once the labels passed; a refusal before that has no table.
  if (!d.candidates.empty()) {
    absl::StrAppend(&out, "labels:   ", ListOrNone(d.labels),
                    "; allowed regions: ", ListOrNone(d.allowed_regions), "\n");
  } else if (!d.labels.empty()) {
    absl::StrAppend(&out, "labels:   ", ListOrNone(d.labels), "\n");
  }

  absl::StrAppend(&out, "register: ", std::string(reg.short_version()), " (objective ",
                  std::string(ObjectiveName(reg.policy().objective)), ")\n");
  absl::StrAppend(&out, "cluster:  ", ClusterText(cluster, d.decided_at), "\n");
  std::vector<MeasuredPowerRow> measured;
  for (const Candidate& c : d.candidates) {
    if (c.power_from != PowerFrom::kRegister) {
      measured.push_back({reg.partitions()[c.partition].name,
                          std::string(PowerFromName(c.power_from)), c.gpu_watts,
                          d.decided_at - c.power_at});
    }
  }
  if (std::string power = PowerText(measured, d.candidates.size()); !power.empty()) {
    absl::StrAppend(&out, "power:    ", power, "\n");
  }
  absl::StrAppend(&out, "decided:  ", TimeText(d.decided_at), "\n");
  if (const GreenStart& g = d.green; g.asked > absl::ZeroDuration()) {
    absl::StrAppend(&out, "green:    ",
                    GreenText({g.window, g.asked, g.immediate, g.start,
                               reg.partitions()[g.immediate_partition].name,
                               reg.partitions()[g.partition].name, g.immediate_co2_grams,
                               g.co2_grams, g.saving(), g.moved}),
                    "\n");
  }
  if (d.candidates.empty()) {
    absl::StrAppend(&out, "\nNo partition was considered: the request was refused first.\n");
    return out;
  }
  std::vector<CandidateRow> rows;
  for (const Candidate& c : d.candidates) {
    const Partition& p = reg.partitions()[c.partition];
    const Site& s = reg.sites()[reg.SiteOfPartition(c.partition)];
    rows.push_back({c.rank, p.name, s.region, s.name, StatusOf(c),
                    DescribeExclusion(c, d, reg), c.nodes, c.energy_kwh, c.jobs_per_kwh,
                    c.co2_grams, c.free_gpus});
  }
  absl::StrAppend(&out, "\n", RenderCandidates(std::move(rows)));
  return out;
}

std::string PowerText(const std::vector<MeasuredPowerRow>& measured, size_t partitions) {
  std::string out;
  for (const MeasuredPowerRow& m : measured) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", m.partition, " ",
                    absl::StrFormat("%.0f", m.watts_per_gpu), " W per GPU (", m.from, ", ",
                    absl::FormatDuration(absl::Trunc(m.age, absl::Seconds(1))), " old)");
  }
  if (!out.empty() && measured.size() < partitions) {
    absl::StrAppend(&out, "; the others: the register's gpu_watts");
  }
  return out;
}

std::string GreenText(const GreenRow& g) {
  std::string out = absl::StrCat("window ", absl::FormatDuration(g.window));
  if (g.asked > g.window) {
    absl::StrAppend(&out, " (asked ", absl::FormatDuration(g.asked), ")");
  }
  if (!g.moved) {
    absl::StrAppend(&out, ": starts at once on ", g.partition, ", ", EstimateText(g.co2_grams),
                    " gCO2 expected; no start within the window saves enough");
    return out;
  }
  absl::StrAppend(&out, ": starts ",
                  g.start == g.immediate_start
                      ? std::string("at once")
                      : absl::FormatTime("%Y-%m-%d %H:%M UTC", g.start, absl::UTCTimeZone()),
                  " on ", g.partition, ", ", EstimateText(g.co2_grams),
                  " gCO2 expected; at once on ", g.immediate_partition, ": ",
                  EstimateText(g.immediate_co2_grams), " gCO2 (",
                  absl::StrFormat("%.0f", std::floor(g.saving * 100)), "% less)");
  return out;
}

std::string ClusterText(const ClusterSource& cluster, absl::Time decided) {
  if (cluster.path.empty()) {
    return "none given: every partition taken as up with all its GPUs free";
  }
  if (cluster.taken_at == absl::InfinitePast()) {
    return cluster.path;
  }
  if (!cluster.show_age) {
    return absl::StrCat(cluster.path, " (taken ", TimeText(cluster.taken_at), ")");
  }
  return absl::StrCat(
      cluster.path, " (taken ", TimeText(cluster.taken_at), ", ",
      absl::FormatDuration(absl::Trunc(decided - cluster.taken_at, absl::Seconds(1))),
      " before the decision)");
}

std::string RenderCandidates(std::vector<CandidateRow> rows) {
  // Ranked ones first, by rank; excluded ones after them, in register order.
  std::stable_sort(rows.begin(), rows.end(), [](const CandidateRow& a, const CandidateRow& b) {
    const int ra = a.rank > 0 ? a.rank : INT32_MAX;
    const int rb = b.rank > 0 ? b.rank : INT32_MAX;
    return ra < rb;
  });
  std::vector<std::vector<std::string>> cells = {{"PARTITION", "REGION", "SITE", "STATUS",
                                                  "NODES", "KWH", "JOBS/KWH", "GCO2",
                                                  "FREE GPUS", "WHY"}};
  for (const CandidateRow& r : rows) {
    cells.push_back({r.partition, r.region, r.site, r.status, absl::StrCat(r.nodes),
                     absl::StrFormat("%.3f", r.energy_kwh), absl::StrFormat("%.3f", r.jobs_per_kwh),
                     absl::StrFormat("%.1f", r.co2_grams), absl::StrCat(r.free_gpus), r.why});
  }
  return Table(cells, {false, false, false, false, true, true, true, true, true, false});
}

}  // namespace sovereign::cli
