// Register::Parse and Register::Load: YAML text -> Parts -> the same validation as FromParts.
//
// The schema lives here: which sections and fields exist, which are required, their types.
// Ranges and cross-references are checked by Validate, so that registers built in code obey
// the same rules.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <sstream>
#include <string>
#include <utility>

#include <yaml-cpp/eventhandler.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "register_internal.h"
#include "register_yaml.h"

namespace sovereign {
namespace {

using register_internal::Entry;
using register_internal::Kind;
using register_internal::ObjectReader;
using register_internal::Parts;
using register_internal::YamlContext;

// Sections of the file, in the order they are documented.
const std::vector<std::string> kSections = {"policy",     "regions",  "sites",
                                            "partitions", "datasets", "accounts"};
// A register places nothing without these.
bool RequiredSection(absl::string_view name) {
  return name == "regions" || name == "sites" || name == "partitions";
}

void ReadPolicy(YamlContext* ctx, const YAML::Node& node, Policy* policy) {
  ObjectReader r(ctx, node, Kind::kPolicy, 0,
                 {"unlabelled", "default_region", "max_labels", "max_label_bytes", "objective",
                  "energy_weight", "carbon_weight", "default_time_limit", "green_min_saving",
                  "green_max_window", "learned_energy_min_jobs"});
  r.Enum<UnlabelledRule>("unlabelled", false,
                         {{"any-region", UnlabelledRule::kAnyRegion},
                          {"default-region", UnlabelledRule::kDefaultRegion}},
                         &policy->unlabelled);
  r.String("default_region", false, &policy->default_region);
  r.Integer("max_labels", false, &policy->max_labels);
  r.Integer("max_label_bytes", false, &policy->max_label_bytes);
  r.Enum<Objective>("objective", false,
                    {{"energy", Objective::kEnergy},
                     {"carbon", Objective::kCarbon},
                     {"mix", Objective::kMix}},
                    &policy->objective);
  r.Number("energy_weight", false, &policy->energy_weight);
  r.Number("carbon_weight", false, &policy->carbon_weight);
  r.Duration("default_time_limit", false, &policy->default_time_limit);
  r.Number("green_min_saving", false, &policy->green_min_saving);
  r.Duration("green_max_window", false, &policy->green_max_window);
  r.Integer("learned_energy_min_jobs", false, &policy->learned_energy_min_jobs);
}

void ReadRegion(YamlContext* ctx, const YAML::Node& node, int index, Region* region) {
  ObjectReader r(ctx, node, Kind::kRegion, index, {"name", "description", "law"});
  region->location = r.location();
  r.String("name", true, &region->name);
  r.String("description", false, &region->description);
  r.String("law", false, &region->law);
}

void ReadSite(YamlContext* ctx, const YAML::Node& node, int index, Site* site) {
  ObjectReader r(ctx, node, Kind::kSite, index,
                 {"name", "region", "country", "operator", "operator_jurisdiction", "pue",
                  "carbon_intensity"});
  site->location = r.location();
  r.String("name", true, &site->name);
  r.String("region", true, &site->region);
  r.String("country", true, &site->country);
  r.String("operator", true, &site->operator_name);
  r.String("operator_jurisdiction", true, &site->operator_jurisdiction);
  r.Number("pue", true, &site->pue);
  r.Number("carbon_intensity", true, &site->carbon_intensity);
}

void ReadPartition(YamlContext* ctx, const YAML::Node& node, int index, Partition* partition) {
  ObjectReader r(ctx, node, Kind::kPartition, index,
                 {"name", "site", "gpu_model", "gpu_type", "gpus_per_node", "nodes", "gpu_watts",
                  "gpu_idle_watts", "node_watts"});
  partition->location = r.location();
  r.String("name", true, &partition->name);
  r.String("site", true, &partition->site);
  r.String("gpu_model", false, &partition->gpu_model);
  r.String("gpu_type", true, &partition->gpu_type);
  r.Integer("gpus_per_node", true, &partition->gpus_per_node);
  r.Integer("nodes", true, &partition->nodes);
  r.Number("gpu_watts", true, &partition->gpu_watts);
  r.Number("gpu_idle_watts", true, &partition->gpu_idle_watts);
  r.Number("node_watts", true, &partition->node_watts);
}

void ReadDataset(YamlContext* ctx, const YAML::Node& node, int index, Dataset* dataset) {
  ObjectReader r(
      ctx, node, Kind::kDataset, index,
      {"name", "classification", "regions", "jurisdictions", "groups", "users", "legal_basis"});
  dataset->location = r.location();
  r.String("name", true, &dataset->name);
  r.Enum<Classification>("classification", true,
                         {{"public", Classification::kPublic},
                          {"restricted", Classification::kRestricted},
                          {"sovereign", Classification::kSovereign}},
                         &dataset->classification);
  r.StringList("regions", true, &dataset->regions);
  r.StringList("jurisdictions", false, &dataset->jurisdictions);
  r.StringList("groups", false, &dataset->groups);
  r.StringList("users", false, &dataset->users);
  r.String("legal_basis", false, &dataset->legal_basis);
}

void ReadAccount(YamlContext* ctx, const YAML::Node& node, int index, Account* account) {
  ObjectReader r(ctx, node, Kind::kAccount, index, {"name", "datasets"});
  account->location = r.location();
  r.String("name", true, &account->name);
  r.StringList("datasets", true, &account->datasets);
}

// Reads a section that lists objects of one kind; items that are not mappings are reported
// and skipped.
template <typename T>
void ReadList(YamlContext* ctx, const Entry& section, absl::string_view kind_name,
              void (*read)(YamlContext*, const YAML::Node&, int, T*), std::vector<T>* out) {
  SourceLocation key_at = ctx->Location(section.key_node, ctx->FileOnly());
  if (!section.value.IsSequence()) {
    std::string hint = section.value.IsNull() ? " (write [] for none)" : "";
    ctx->Add(
        ctx->Location(section.value, key_at),
        absl::StrCat("section ", register_internal::Quote(section.key), ": expected a list, got ",
                     register_internal::Describe(section.value), hint));
    return;
  }
  if (section.value.size() == 0 && section.key == "partitions") {
    // Every job would be refused: an empty register is a mistake, not a policy.
    ctx->Add(ctx->Location(section.value, key_at),
             "section \"partitions\": lists no partition, so no job could be placed anywhere "
             "(an empty register is not a policy)");
    return;
  }
  for (size_t i = 0; i < section.value.size(); ++i) {
    YAML::Node item = section.value[i];
    if (!item.IsMap()) {
      ctx->Add(ctx->Location(item, ctx->Location(section.value, key_at)),
               absl::StrCat(kind_name, " #", i + 1, ": expected a mapping, got ",
                            register_internal::Describe(item)));
      continue;
    }
    T value;
    read(ctx, item, static_cast<int>(out->size()), &value);
    out->push_back(std::move(value));
  }
}

void ReadRoot(YamlContext* ctx, const YAML::Node& root) {
  Parts& parts = ctx->parts();
  SourceLocation root_at = ctx->Location(root, ctx->FileOnly());
  if (!root.IsMap()) {
    ctx->Add(root_at, absl::StrCat("the register must be a mapping of sections (policy, regions, "
                                   "sites, partitions, datasets, accounts), got ",
                                   register_internal::Describe(root)));
    return;
  }
  std::vector<Entry> entries = register_internal::MappingEntries(ctx, root, "", "section");
  register_internal::ReportUnknownKeys(ctx, entries, kSections, "", "section");
  for (const std::string& name : kSections) {
    auto it =
        std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.key == name; });
    if (it == entries.end()) {
      if (RequiredSection(name)) {
        ctx->Add(root_at,
                 absl::StrCat("missing required section ", register_internal::Quote(name)));
      }
      continue;
    }
    if (name == "policy") {
      if (it->value.IsMap()) {
        ReadPolicy(ctx, it->value, &parts.policy);
      } else {
        ctx->Add(ctx->Location(it->value, ctx->Location(it->key_node, root_at)),
                 absl::StrCat("section \"policy\": expected a mapping, got ",
                              register_internal::Describe(it->value)));
      }
    } else if (name == "regions") {
      ReadList(ctx, *it, "region", &ReadRegion, &parts.regions);
    } else if (name == "sites") {
      ReadList(ctx, *it, "site", &ReadSite, &parts.sites);
    } else if (name == "partitions") {
      ReadList(ctx, *it, "partition", &ReadPartition, &parts.partitions);
    } else if (name == "datasets") {
      ReadList(ctx, *it, "dataset", &ReadDataset, &parts.datasets);
    } else if (name == "accounts") {
      ReadList(ctx, *it, "account", &ReadAccount, &parts.accounts);
    }
  }
}

// Where each document of a YAML stream starts. yaml-cpp 0.7 (Debian 12) reads a token that
// cannot start a node (a stray ',' where a document may start: ",", "[a],") as an empty
// document without moving past it, over and over: its LoadAll never returns and fills memory.
// A document that starts where the previous one did is where the parser is stuck.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (!starts.empty() && starts.back().pos == mark.pos) {
      stuck = true;
    } else {
      starts.push_back(mark);
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnMapEnd() override {}

  // Where each document starts, and where its root node does (what a message points at).
  std::vector<YAML::Mark> starts;
  std::vector<YAML::Mark> roots;
  bool stuck = false;

 private:
  void Node(const YAML::Mark& mark) {
    if (roots.size() < starts.size()) {
      roots.push_back(mark);
    }
  }
};

// YAML text -> parts, with the diagnostics of the YAML level (syntax, structure, types).
void ReadYaml(YamlContext* ctx, absl::string_view yaml) {
  const std::string text(yaml);
  DocumentStarts documents;
  YAML::Node root;
  try {
    // The documents are counted with a guard against yaml-cpp's endless loop (see
    // DocumentStarts), then the first one is loaded.
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (!documents.stuck && parser.HandleNextDocument(documents)) {
    }
    if (documents.stuck) {
      const YAML::Mark& at = documents.starts.back();
      ctx->Add(ctx->Location(at),
               absl::StrCat("YAML syntax error: unexpected \"",
                            yaml.substr(static_cast<size_t>(std::max(at.pos, 0)), 1), "\""));
      return;
    }
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ctx->Add(ctx->Location(e.mark), absl::StrCat("YAML syntax error: ", e.msg));
    return;
  } catch (const std::exception& e) {
    ctx->Add(ctx->FileOnly(), absl::StrCat("cannot read YAML: ", e.what()));
    return;
  }
  if (documents.starts.empty() || root.IsNull()) {
    ctx->Add(ctx->FileOnly(), "the register is empty");
    return;
  }
  if (documents.starts.size() > 1) {
    ctx->Add(ctx->Location(documents.roots.size() > 1 ? documents.roots[1] : documents.starts[1]),
             absl::StrCat("the register must be one YAML document, found ",
                          documents.starts.size()));
  }
  try {
    ReadRoot(ctx, root);
  } catch (const std::exception& e) {
    // Node accessors throw only on misuse; never let it unwind into a caller.
    ctx->Add(ctx->FileOnly(), absl::StrCat("cannot read YAML: ", e.what()));
  }
}

constexpr off_t kMaxRegisterBytes = off_t{16} << 20;

}  // namespace

absl::StatusOr<std::shared_ptr<const Register>> Register::Parse(
    std::string_view yaml, std::string_view filename, std::vector<Diagnostic>* diagnostics) {
  Parts parts;
  YamlContext ctx(absl::string_view(filename.data(), filename.size()), &parts);
  ReadYaml(&ctx, absl::string_view(yaml.data(), yaml.size()));
  if (absl::Status status =
          register_internal::CheckParts(parts, std::move(ctx.diagnostics()), diagnostics);
      !status.ok()) {
    return status;
  }
  return FromParts(std::move(parts.policy), std::move(parts.regions), std::move(parts.sites),
                   std::move(parts.partitions), std::move(parts.datasets),
                   std::move(parts.accounts), diagnostics);
}

absl::StatusOr<std::shared_ptr<const Register>> Register::Load(
    const std::string& path, std::vector<Diagnostic>* diagnostics) {
  const std::string what = absl::StrCat("cannot read register ", register_internal::Quote(path));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, what);
  }
  std::string text;
  struct stat st {};
  absl::Status status;
  if (::fstat(fd, &st) != 0) {
    status = absl::ErrnoToStatus(errno, what);
  } else if (S_ISDIR(st.st_mode)) {
    status = absl::FailedPreconditionError(absl::StrCat(what, ": it is a directory"));
  } else if (st.st_size > kMaxRegisterBytes) {
    status = absl::FailedPreconditionError(
        absl::StrCat(what, ": ", st.st_size, " bytes, more than the limit of ", kMaxRegisterBytes));
  }
  char buffer[1 << 16];
  while (status.ok()) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      status = absl::ErrnoToStatus(errno, what);
    } else if (n == 0) {
      break;
    } else if (text.size() + static_cast<size_t>(n) > static_cast<size_t>(kMaxRegisterBytes)) {
      status = absl::FailedPreconditionError(
          absl::StrCat(what, ": more than the limit of ", kMaxRegisterBytes, " bytes"));
    } else {
      text.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (!status.ok()) {
    return status;
  }
  return Parse(text, path, diagnostics);
}

}  // namespace sovereign
