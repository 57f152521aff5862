#include "sovereign/cluster_check.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/residency.h"
#include "sovereign/unix_accounts.h"

namespace sovereign {
namespace {

// key=value tokens of one config line, keys in lower case.
using ConfLine = std::vector<std::pair<std::string, std::string>>;

ConfLine Tokens(const std::string& line) {
  ConfLine out;
  for (absl::string_view token : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(token, absl::MaxSplits('=', 1));
    out.emplace_back(absl::AsciiStrToLower(kv.first), std::string(kv.second));
  }
  return out;
}

const std::string* Value(const ConfLine& line, const std::string& key) {
  for (const auto& [k, v] : line) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

// The logical lines of a Slurm config file (comments dropped, `\` continuations joined), each
// with its first physical line number.
absl::StatusOr<std::vector<std::pair<int, std::string>>> ConfLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::vector<std::pair<int, std::string>> out;
  std::string line, pending;
  int number = 0, first = 0;
  while (std::getline(in, line)) {
    ++number;
    if (size_t hash = line.find('#'); hash != std::string::npos) {
      line.erase(hash);
    }
    if (pending.empty()) {
      first = number;
    }
    absl::string_view text = absl::StripTrailingAsciiWhitespace(line);
    if (absl::ConsumeSuffix(&text, "\\")) {
      absl::StrAppend(&pending, text, " ");
      continue;
    }
    absl::StrAppend(&pending, text);
    if (!absl::StripAsciiWhitespace(pending).empty()) {
      out.emplace_back(first, pending);
    }
    pending.clear();
  }
  return out;
}

std::string Where(const std::string& path, int line) {
  return absl::StrCat(std::filesystem::path(path).filename().string(), ":", line, ": ");
}

// GPU types gres.conf declares per node ("" key: lines without NodeName=, every node).
absl::StatusOr<std::map<std::string, std::set<std::string>>> GresConfTypes(
    const std::string& path) {
  std::map<std::string, std::set<std::string>> out;
  absl::StatusOr<std::vector<std::pair<int, std::string>>> lines = ConfLines(path);
  if (!lines.ok()) {
    return out;  // no gres.conf: the types are what slurm.conf says
  }
  for (const auto& [number, text] : *lines) {
    ConfLine line = Tokens(text);
    const std::string* name = Value(line, "name");
    const std::string* type = Value(line, "type");
    if (name == nullptr || *name != "gpu" || type == nullptr) {
      continue;
    }
    const std::string* nodes = Value(line, "nodename");
    if (nodes == nullptr) {
      out[""].insert(*type);
      continue;
    }
    absl::StatusOr<std::vector<std::string>> names = ExpandNodeList(*nodes);
    if (!names.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(path, number), names.status().message()));
    }
    for (const std::string& n : *names) {
      out[n].insert(*type);
    }
  }
  return out;
}

std::string Quoted(const std::string& kind, const std::string& name) {
  return absl::StrCat(kind, " \"", name, "\": ");
}

}  // namespace

std::vector<SlurmGpus> GpusOfGres(const std::string& gres) {
  std::vector<SlurmGpus> out;
  // Entries are separated by commas that are not inside "(...)" (e.g. "(S:0-1)" or
  // "(IDX:0,2)").
  int depth = 0;
  std::string entry;
  auto flush = [&] {
    absl::string_view e = entry;
    e = e.substr(0, e.find('('));
    if (absl::ConsumePrefix(&e, "gpu") && (e.empty() || e[0] == ':')) {
      SlurmGpus g;
      if (e.empty()) {
        g.count = 1;  // "gpu" means one
      } else {
        std::vector<absl::string_view> parts = absl::StrSplit(e.substr(1), ':');
        if (!absl::SimpleAtoi(parts.back(), &g.count)) {
          g.count = parts.size() == 1 ? 1 : 0;  // "gpu:h100" means one
        }
        if (int n = 0; parts.size() > 1 || !absl::SimpleAtoi(parts[0], &n)) {
          g.type = std::string(parts[0]);
        }
      }
      out.push_back(std::move(g));
    }
    entry.clear();
  };
  for (char c : gres) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    }
    if (c == ',' && depth == 0) {
      flush();
    } else {
      entry.push_back(c);
    }
  }
  flush();
  return out;
}

absl::StatusOr<SlurmInventory> ReadSlurmConf(const std::string& path) {
  absl::StatusOr<std::vector<std::pair<int, std::string>>> lines = ConfLines(path);
  if (!lines.ok()) {
    return lines.status();
  }
  SlurmInventory inv;
  inv.source = absl::StrCat("slurm.conf ", path);
  std::string default_gres;
  std::vector<std::pair<int, ConfLine>> partition_lines;
  for (const auto& [number, text] : *lines) {
    ConfLine line = Tokens(text);
    if (line.empty()) {
      continue;
    }
    if (line[0].first == "partitionname") {
      if (absl::AsciiStrToLower(line[0].second) != "default") {
        partition_lines.emplace_back(number, std::move(line));
      }
      continue;
    }
    if (line[0].first != "nodename") {
      continue;
    }
    const std::string* gres = Value(line, "gres");
    if (absl::AsciiStrToLower(line[0].second) == "default") {
      default_gres = gres == nullptr ? "" : *gres;
      continue;
    }
    absl::StatusOr<std::vector<std::string>> names = ExpandNodeList(line[0].second);
    if (!names.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(path, number), names.status().message()));
    }
    for (const std::string& n : *names) {
      inv.nodes.push_back({n, GpusOfGres(gres == nullptr ? default_gres : *gres)});
    }
  }
  for (const auto& [number, line] : partition_lines) {
    SlurmPartitionInfo p;
    p.name = line[0].second;
    const std::string* nodes = Value(line, "nodes");
    if (nodes != nullptr && absl::AsciiStrToLower(*nodes) == "all") {
      for (const SlurmNodeInfo& n : inv.nodes) {
        p.nodes.push_back(n.name);
      }
    } else if (nodes != nullptr) {
      absl::StatusOr<std::vector<std::string>> names = ExpandNodeList(*nodes);
      if (!names.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Where(path, number), names.status().message()));
      }
      p.nodes = *std::move(names);
    }
    inv.partitions.push_back(std::move(p));
  }
  // GPUs without a type in slurm.conf take the one type gres.conf gives the node.
  absl::StatusOr<std::map<std::string, std::set<std::string>>> types =
      GresConfTypes((std::filesystem::path(path).parent_path() / "gres.conf").string());
  if (!types.ok()) {
    return types.status();
  }
  for (SlurmNodeInfo& n : inv.nodes) {
    auto it = types->find(n.name);
    if (it == types->end()) {
      it = types->find("");
    }
    if (it == types->end() || it->second.size() != 1) {
      continue;
    }
    for (SlurmGpus& g : n.gpus) {
      if (g.type.empty()) {
        g.type = *it->second.begin();
      }
    }
  }
  return inv;
}

std::string ClusterFinding::ToString() const {
  return absl::StrCat(location.file, ":", location.line, ":", location.column, ": ",
                      severity == FindingSeverity::kError ? "error: " : "warning: ", message);
}

AccountLookup NssAccountLookup() {
  AccountLookup out;
  out.user_exists = [](const std::string& name) { return UserByName(name).ok(); };
  out.group_exists = [](const std::string& name) { return GroupByName(name).ok(); };
  return out;
}

std::vector<ClusterFinding> CheckAgainstSlurm(const Register& reg, const SlurmInventory& slurm) {
  std::vector<ClusterFinding> out;
  std::map<std::string, const SlurmNodeInfo*> nodes;
  for (const SlurmNodeInfo& n : slurm.nodes) {
    nodes[n.name] = &n;
  }
  std::vector<std::string> known;
  for (const SlurmPartitionInfo& p : slurm.partitions) {
    known.push_back(p.name);
  }
  std::sort(known.begin(), known.end());
  for (const Partition& p : reg.partitions()) {
    auto add = [&](FindingSeverity s, std::string message) {
      out.push_back({s, p.location, absl::StrCat(Quoted("partition", p.name), message)});
    };
    auto sp = std::find_if(slurm.partitions.begin(), slurm.partitions.end(),
                           [&](const SlurmPartitionInfo& s) { return s.name == p.name; });
    if (sp == slurm.partitions.end()) {
      add(FindingSeverity::kError,
          absl::StrCat("Slurm has no partition ", p.name, " (", slurm.source, " has: ",
                       known.empty() ? "none" : absl::StrJoin(known, ", "), ")"));
      continue;
    }
    std::set<std::string> types;
    std::set<int> per_node;  // GPUs of the register's type on each node
    for (const std::string& name : sp->nodes) {
      auto it = nodes.find(name);
      int count = 0;
      if (it != nodes.end()) {
        for (const SlurmGpus& g : it->second->gpus) {
          types.insert(g.type.empty() ? "untyped" : g.type);
          if (g.type == p.gpu_type) {
            count += g.count;
          }
        }
      }
      per_node.insert(count);
    }
    if (types.count(p.gpu_type) == 0) {
      add(FindingSeverity::kError,
          absl::StrCat("field \"gpu_type\": no node of Slurm partition ", p.name,
                       " has GPUs of type ", p.gpu_type, " (",
                       types.empty() ? std::string("its nodes have no GPUs")
                                     : absl::StrCat("it has: ", absl::StrJoin(types, ", ")),
                       ")"));
    }
    if (static_cast<int>(sp->nodes.size()) != p.nodes) {
      add(FindingSeverity::kWarning, absl::StrCat("field \"nodes\": the register says ", p.nodes,
                                                  ", Slurm has ", sp->nodes.size()));
    }
    if (types.count(p.gpu_type) != 0 && per_node != std::set<int>{p.gpus_per_node}) {
      add(FindingSeverity::kWarning,
          absl::StrCat("field \"gpus_per_node\": the register says ", p.gpus_per_node,
                       ", Slurm's nodes have ", absl::StrJoin(per_node, " or "), " ",
                       p.gpu_type, " GPUs"));
    }
  }
  return out;
}

std::vector<ClusterFinding> CheckAccounts(const Register& reg, const AccountLookup& accounts) {
  std::vector<ClusterFinding> out;
  for (const Dataset& d : reg.datasets()) {
    for (const std::string& g : d.groups) {
      if (accounts.group_exists && !accounts.group_exists(g)) {
        out.push_back({FindingSeverity::kError, d.location,
                       absl::StrCat(Quoted("dataset", d.name), "field \"groups\": Unix group \"",
                                    g, "\" does not exist on this host")});
      }
    }
    for (const std::string& u : d.users) {
      if (accounts.user_exists && !accounts.user_exists(u)) {
        out.push_back({FindingSeverity::kWarning, d.location,
                       absl::StrCat(Quoted("dataset", d.name), "field \"users\": Unix user \"", u,
                                    "\" does not exist on this host")});
      }
    }
  }
  return out;
}

int CountErrors(const std::vector<ClusterFinding>& findings) {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const auto& f) {
    return f.severity == FindingSeverity::kError;
  }));
}

}  // namespace sovereign
