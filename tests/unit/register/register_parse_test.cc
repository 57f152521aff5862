// Register::Parse: the YAML level (syntax, structure, keys, types) and the values it reads.
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "register_test_util.h"
#include "sovereign/register.h"

namespace sovereign {
namespace {

using ::sovereign::testing::Errors;
using ::sovereign::testing::kBase;
using ::sovereign::testing::With;
using ::testing::ElementsAre;

TEST(RegisterParseTest, ReadsEveryField) {
  std::string yaml = With("regions:\n  - name: eu\n",
                          "policy:\n"
                          "  unlabelled: default-region\n"
                          "  default_region: eu\n"
                          "  max_labels: 8\n"
                          "  max_label_bytes: 32\n"
                          "  objective: carbon\n"
                          "  default_time_limit: 1h30m\n"
                          "regions:\n"
                          "  - name: eu\n"
                          "    description: European Union\n"
                          "    law: GDPR\n");
  yaml = With("    gpu_type: a100\n", "    gpu_model: NVIDIA A100 SXM4 80GB\n    gpu_type: a100\n",
              yaml);
  yaml = With("    regions: [eu]\n",
              "    regions: [eu, us]\n    jurisdictions: [EU]\n    groups: [oncology]\n"
              "    users: [alice, bob]\n    legal_basis: GDPR Art. 9(2)(j)\n",
              yaml);
  auto reg = Register::Parse(yaml, "register.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();
  const Register& r = **reg;
  EXPECT_EQ(r.policy().unlabelled, UnlabelledRule::kDefaultRegion);
  EXPECT_EQ(r.policy().default_region, "eu");
  EXPECT_EQ(r.policy().max_labels, 8);
  EXPECT_EQ(r.policy().max_label_bytes, 32);
  EXPECT_EQ(r.policy().objective, Objective::kCarbon);
  EXPECT_EQ(r.policy().default_time_limit, absl::Minutes(90));

  const Region* eu = r.FindRegion("eu");
  ASSERT_NE(eu, nullptr);
  EXPECT_EQ(eu->description, "European Union");
  EXPECT_EQ(eu->law, "GDPR");
  EXPECT_EQ(eu->location.file, "register.yaml");
  EXPECT_EQ(eu->location.line, 9);
  EXPECT_EQ(eu->location.column, 5);

  const Site* site = r.FindSite("paris-1");
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->region, "eu");
  EXPECT_EQ(site->country, "FR");
  EXPECT_EQ(site->operator_name, "Example SAS");
  EXPECT_EQ(site->operator_jurisdiction, "EU");
  EXPECT_DOUBLE_EQ(site->pue, 1.2);
  EXPECT_DOUBLE_EQ(site->carbon_intensity, 31);

  const Partition* p = r.FindPartition("gpu-fr");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->site, "paris-1");
  EXPECT_EQ(p->gpu_model, "NVIDIA A100 SXM4 80GB");
  EXPECT_EQ(p->gpu_type, "a100");
  EXPECT_EQ(p->gpus_per_node, 8);
  EXPECT_EQ(p->nodes, 4);
  EXPECT_DOUBLE_EQ(p->gpu_watts, 400);
  EXPECT_DOUBLE_EQ(p->gpu_idle_watts, 50);
  EXPECT_DOUBLE_EQ(p->node_watts, 900);
  EXPECT_EQ(r.SiteOfPartition(r.PartitionIndex("gpu-fr")), 0);
  EXPECT_EQ(r.RegionOfPartition(r.PartitionIndex("gpu-fr")), r.RegionIndex("eu"));

  const Dataset* d = r.FindDataset("patients-eu");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->classification, Classification::kSovereign);
  EXPECT_THAT(d->regions, ElementsAre("eu", "us"));
  EXPECT_THAT(d->jurisdictions, ElementsAre("EU"));
  EXPECT_THAT(d->groups, ElementsAre("oncology"));
  EXPECT_THAT(d->users, ElementsAre("alice", "bob"));
  EXPECT_EQ(d->legal_basis, "GDPR Art. 9(2)(j)");
  EXPECT_FALSE(d->OpenToAll());

  const Account* a = r.FindAccount("oncology");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->datasets, ElementsAre("patients-eu"));
}

TEST(RegisterParseTest, OptionalPartsTakeTheirDefaults) {
  std::string yaml = With(
      "datasets:\n  - name: patients-eu\n    classification: sovereign\n"
      "    regions: [eu]\naccounts:\n  - name: oncology\n"
      "    datasets: [patients-eu]\n",
      "");
  auto reg = Register::Parse(yaml, "register.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();
  Policy defaults;
  EXPECT_EQ((*reg)->policy().unlabelled, defaults.unlabelled);
  EXPECT_EQ((*reg)->policy().max_labels, 16);
  EXPECT_EQ((*reg)->policy().max_label_bytes, 64);
  EXPECT_EQ((*reg)->policy().objective, Objective::kEnergy);
  EXPECT_EQ((*reg)->policy().default_time_limit, absl::Hours(1));
  EXPECT_TRUE((*reg)->datasets().empty());
  EXPECT_EQ((*reg)->FindPartition("gpu-fr")->gpu_model, "");
}

TEST(RegisterParseTest, SyntaxError) {
  EXPECT_THAT(Errors("regions: [eu\nsites: []\n"),
              ElementsAre("register.yaml:2:6: YAML syntax error: end of sequence flow not found"));
  EXPECT_THAT(Errors("regions:\n  - name: eu\n\t- name: us\n"),
              ElementsAre("register.yaml:3:1: YAML syntax error: illegal tab when looking for "
                          "indentation"));
}

// yaml-cpp 0.7 reads a stray ',' where a document may start as an endless series of empty
// documents; its LoadAll then grew until the process ran out of memory (found by fuzzing:
// tests/fuzz/corpus/register/). Each of these is an error at the comma, and returns.
TEST(RegisterParseTest, StrayCommaWhereADocumentStarts) {
  EXPECT_THAT(Errors(","), ElementsAre("register.yaml:1:1: YAML syntax error: unexpected \",\""));
  EXPECT_THAT(Errors("# a comment\n,\n"),
              ElementsAre("register.yaml:2:1: YAML syntax error: unexpected \",\""));
  EXPECT_THAT(Errors("{regions: []},"),
              ElementsAre("register.yaml:1:14: YAML syntax error: unexpected \",\""));
  EXPECT_THAT(Errors("- regions\n,\n"),
              ElementsAre("register.yaml:2:1: YAML syntax error: unexpected \",\""));
}

TEST(RegisterParseTest, EmptyFile) {
  EXPECT_THAT(Errors(""), ElementsAre("register.yaml: the register is empty"));
  EXPECT_THAT(Errors("# nothing yet\n\n"), ElementsAre("register.yaml: the register is empty"));
}

TEST(RegisterParseTest, TopLevelNotAMapping) {
  EXPECT_THAT(Errors("- regions\n- sites\n"),
              ElementsAre("register.yaml:1:1: the register must be a mapping of sections "
                          "(policy, regions, sites, partitions, datasets, accounts), got a list"));
  EXPECT_THAT(Errors("hello\n"),
              ElementsAre("register.yaml:1:1: the register must be a mapping of sections "
                          "(policy, regions, sites, partitions, datasets, accounts), got "
                          "\"hello\""));
}

TEST(RegisterParseTest, SecondDocument) {
  EXPECT_THAT(Errors(std::string(kBase) + "---\nregions: []\n"),
              ElementsAre("register.yaml:29:1: the register must be one YAML document, found 2"));
}

TEST(RegisterParseTest, UnknownSection) {
  EXPECT_THAT(Errors(With("partitions:", "partition:")),
              ElementsAre("register.yaml:1:1: missing required section \"partitions\"",
                          "register.yaml:12:1: unknown section \"partition\" (did you mean "
                          "\"partitions\"?)"));
  EXPECT_THAT(Errors(std::string(kBase) + "nodes: []\n"),
              ElementsAre("register.yaml:28:1: unknown section \"nodes\" (known sections: "
                          "accounts, datasets, partitions, policy, regions, sites)"));
}

TEST(RegisterParseTest, UnknownFieldSuggestsTheClosest) {
  // The typo is reported, and so is the field it failed to set.
  EXPECT_THAT(Errors(With("    regions: [eu]", "    region: [eu]")),
              ElementsAre("register.yaml:22:5: dataset \"patients-eu\": missing required field "
                          "\"regions\"",
                          "register.yaml:24:5: dataset \"patients-eu\": unknown field \"region\" "
                          "(did you mean \"regions\"?)"));
  EXPECT_THAT(Errors(With("    region: eu", "    regoin: eu")),
              ElementsAre("register.yaml:5:5: site \"paris-1\": missing required field \"region\"",
                          "register.yaml:6:5: site \"paris-1\": unknown field \"regoin\" (did "
                          "you mean \"region\"?)"));
  // An optional field misspelt would silently drop a restriction: it is an error too.
  EXPECT_THAT(Errors(With("    regions: [eu]", "    regions: [eu]\n    group: [oncology]")),
              ElementsAre("register.yaml:25:5: dataset \"patients-eu\": unknown field \"group\" "
                          "(did you mean \"groups\"?)"));
  EXPECT_THAT(Errors(With("    pue: 1.2", "    pue: 1.2\n    cooling: water")),
              ElementsAre("register.yaml:11:5: site \"paris-1\": unknown field \"cooling\" "
                          "(known fields: carbon_intensity, country, name, operator, "
                          "operator_jurisdiction, pue, region)"));
  EXPECT_THAT(Errors("policy:\n  objectve: carbon\n" + std::string(kBase)),
              ElementsAre("register.yaml:2:3: policy: unknown field \"objectve\" (did you mean "
                          "\"objective\"?)"));
}

TEST(RegisterParseTest, MissingRequiredFieldsAndSections) {
  EXPECT_THAT(Errors(With("    pue: 1.2\n", "")),
              ElementsAre("register.yaml:5:5: site \"paris-1\": missing required field \"pue\""));
  EXPECT_THAT(Errors(With("  - name: gpu-fr\n    site: paris-1\n", "  - site: paris-1\n")),
              ElementsAre("register.yaml:13:5: partition #1: missing required field \"name\""));
  EXPECT_THAT(Errors("regions: []\n"),
              ElementsAre("register.yaml:1:1: missing required section \"sites\"",
                          "register.yaml:1:1: missing required section \"partitions\""));
}

TEST(RegisterParseTest, WrongTypes) {
  EXPECT_THAT(Errors(With("pue: 1.2", "pue: high")),
              ElementsAre("register.yaml:10:10: site \"paris-1\": field \"pue\": expected a "
                          "number, got \"high\""));
  EXPECT_THAT(Errors(With("nodes: 4", "nodes: 4.5")),
              ElementsAre("register.yaml:17:12: partition \"gpu-fr\": field \"nodes\": expected "
                          "an integer, got \"4.5\""));
  EXPECT_THAT(Errors(With("nodes: 4", "nodes: 99999999999")),
              ElementsAre("register.yaml:17:12: partition \"gpu-fr\": field \"nodes\": expected "
                          "an integer, got \"99999999999\" (out of range)"));
  EXPECT_THAT(Errors(With("pue: 1.2", "pue: 1e999")),
              ElementsAre("register.yaml:10:10: site \"paris-1\": field \"pue\": expected a "
                          "number, got \"1e999\" (out of range)"));
  EXPECT_THAT(Errors(With("pue: 1.2", "pue: 1,2")),
              ElementsAre("register.yaml:10:10: site \"paris-1\": field \"pue\": expected a "
                          "number, got \"1,2\""));
  EXPECT_THAT(Errors(With("country: FR", "country: [FR]")),
              ElementsAre("register.yaml:7:14: site \"paris-1\": field \"country\": expected a "
                          "string, got a list"));
  EXPECT_THAT(Errors(With("regions: [eu]", "regions: eu")),
              ElementsAre("register.yaml:24:14: dataset \"patients-eu\": field \"regions\": "
                          "expected a list, got \"eu\" (write [eu])"));
  EXPECT_THAT(Errors(With("regions: [eu]", "regions: [eu]\n    groups:")),
              ElementsAre("register.yaml:25:5: dataset \"patients-eu\": field \"groups\": "
                          "expected a list, got an empty value (write [] for none)"));
  EXPECT_THAT(Errors(With("regions: [eu]", "regions: [eu, {name: us}]")),
              ElementsAre("register.yaml:24:19: dataset \"patients-eu\": field \"regions\": "
                          "element 2: expected a string, got a mapping"));
  EXPECT_THAT(Errors(With("    region: eu", "    region:")),
              ElementsAre("register.yaml:6:5: site \"paris-1\": field \"region\": expected a "
                          "string, got an empty value"));
}

TEST(RegisterParseTest, WrongStructure) {
  EXPECT_THAT(Errors("regions: []\nsites: {}\npartitions: []\n"),
              ElementsAre("register.yaml:2:8: section \"sites\": expected a list, got a mapping",
                          "register.yaml:3:13: section \"partitions\": lists no partition, so no job could be "
                          "placed anywhere (an empty register is not a policy)"));
  EXPECT_THAT(Errors(With("  - name: us\n", "  - us\n")),
              ElementsAre("register.yaml:3:5: region #2: expected a mapping, got \"us\""));
  EXPECT_THAT(Errors("policy: energy\n" + std::string(kBase)),
              ElementsAre("register.yaml:1:9: section \"policy\": expected a mapping, got "
                          "\"energy\""));
  EXPECT_THAT(Errors("regions: []\nsites: []\npartitions: []\naccounts:\n"),
              ElementsAre("register.yaml:3:13: section \"partitions\": lists no partition, so no job could be "
                          "placed anywhere (an empty register is not a policy)",
                          "register.yaml:4:1: section \"accounts\": expected a list, got an "
                          "empty value (write [] for none)"));
}

TEST(RegisterParseTest, KeyGivenTwice) {
  EXPECT_THAT(
      Errors(With("    carbon_intensity: 31\n", "    carbon_intensity: 31\n    pue: 1.0\n")),
      ElementsAre("register.yaml:12:5: site \"paris-1\": field \"pue\" is given twice "
                  "(first at line 10)"));
  EXPECT_THAT(Errors(std::string(kBase) + "regions: []\n"),
              ElementsAre("register.yaml:28:1: section \"regions\" is given twice (first at "
                          "line 1)"));
}

TEST(RegisterParseTest, BadEnumValues) {
  EXPECT_THAT(Errors(With("classification: sovereign", "classification: secret")),
              ElementsAre("register.yaml:23:21: dataset \"patients-eu\": field \"classification\": "
                          "bad value \"secret\" (expected one of: public, restricted, sovereign)"));
  EXPECT_THAT(Errors("policy:\n  objective: speed\n  unlabelled: nowhere\n" + std::string(kBase)),
              ElementsAre("register.yaml:2:14: policy: field \"objective\": bad value \"speed\" "
                          "(expected one of: energy, carbon, mix)",
                          "register.yaml:3:15: policy: field \"unlabelled\": bad value "
                          "\"nowhere\" (expected one of: any-region, default-region)"));
}

TEST(RegisterParseTest, Durations) {
  auto limit = [](const std::string& text) -> absl::Duration {
    auto reg = Register::Parse("policy:\n  default_time_limit: " + text + "\n" + kBase, "r.yaml");
    EXPECT_TRUE(reg.ok()) << reg.status();
    return reg.ok() ? (*reg)->policy().default_time_limit : absl::ZeroDuration();
  };
  EXPECT_EQ(limit("90s"), absl::Seconds(90));
  EXPECT_EQ(limit("30m"), absl::Minutes(30));
  EXPECT_EQ(limit("2h"), absl::Hours(2));
  EXPECT_EQ(limit("1d"), absl::Hours(24));
  EXPECT_EQ(limit("1h30m"), absl::Minutes(90));
  EXPECT_EQ(limit("1d2h3m4s"), absl::Seconds(93784));
  // The syntax sovereignd's config and the plugin's settings take too.
  EXPECT_EQ(limit("1.5h"), absl::Minutes(90));
  EXPECT_EQ(limit("30m1h"), absl::Minutes(90));
  EXPECT_EQ(limit("+2h"), absl::Hours(2));
  EXPECT_EQ(limit("3650d"), absl::Hours(3650 * 24));
  for (const char* bad : {"1x", "90", "1h30", "h", "1H", "1h 30m"}) {
    EXPECT_THAT(Errors("policy:\n  default_time_limit: " + std::string(bad) + "\n" + kBase),
                ElementsAre("register.yaml:2:23: policy: field \"default_time_limit\": bad "
                            "duration \"" +
                            std::string(bad) + "\" (expected e.g. 90s, 30m, 2h, 1d or 1h30m)"))
        << bad;
  }
  // The register's own range: its version counts durations in whole seconds.
  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {"3651d", "at most 10 years"},
           {"inf", "at most 10 years"},
           {"1.5s", "a whole number of seconds"},
           {"90s250ms", "a whole number of seconds"}}) {
    EXPECT_THAT(Errors("policy:\n  default_time_limit: " + bad + "\n" + kBase),
                ElementsAre("register.yaml:2:23: policy: field \"default_time_limit\": bad "
                            "duration \"" + bad + "\" (" + why + ")"))
        << bad;
  }
}

// Whatever the text, Parse answers with a register or with diagnostics; it never crashes or
// throws, and every diagnostic names the file.
TEST(RegisterParseTest, RandomEditsYieldARegisterOrDiagnostics) {
  const std::string base = kBase;
  const std::string alphabet = "abcz019-.:[]{}#&*!|>'\"\n\t ,-";
  std::mt19937 rng(20240611);
  int invalid = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text.erase(at, 1 + rng() % 8);
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
      }
    }
    std::vector<Diagnostic> diagnostics;
    auto reg = Register::Parse(text, "register.yaml", &diagnostics);
    ASSERT_EQ(reg.ok(), diagnostics.empty()) << text;
    if (!reg.ok()) {
      ++invalid;
      ASSERT_EQ(reg.status().code(), absl::StatusCode::kInvalidArgument) << text;
      for (const Diagnostic& d : diagnostics) {
        ASSERT_EQ(d.location.file, "register.yaml") << text;
        ASSERT_FALSE(d.message.empty()) << text;
      }
    }
  }
  // The edits do break most registers: the loop above exercised the error paths.
  EXPECT_GT(invalid, 1500);
}

}  // namespace
TEST(RegisterParseTest, ObjectiveMixAndGreenWindowSettings) {
  auto mix = Register::Parse(
      "policy:\n  objective: mix\n  energy_weight: 1\n  carbon_weight: 3\n"
      "  green_min_saving: 0.2\n  green_max_window: 12h\n" + std::string(kBase),
      "register.yaml");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_EQ((*mix)->policy().objective, Objective::kMix);
  EXPECT_EQ((*mix)->policy().energy_weight, 1);
  EXPECT_EQ((*mix)->policy().carbon_weight, 3);
  EXPECT_EQ((*mix)->policy().green_min_saving, 0.2);
  EXPECT_EQ((*mix)->policy().green_max_window, absl::Hours(12));

  EXPECT_THAT(Errors("policy:\n  objective: energy\n  carbon_weight: 3\n" + std::string(kBase)),
              ElementsAre("register.yaml:3:18: policy: field \"carbon_weight\": has no effect "
                          "because objective is energy (set objective: mix to weigh energy and "
                          "carbon together)"));
  EXPECT_THAT(Errors("policy:\n  objective: mix\n  energy_weight: -1\n" + std::string(kBase)),
              ElementsAre("register.yaml:3:18: policy: field \"energy_weight\": must be a number "
                          "from 0 to 1000, got -1"));
  EXPECT_THAT(
      Errors("policy:\n  objective: mix\n  energy_weight: 0\n  carbon_weight: 0\n" +
             std::string(kBase)),
      ElementsAre("register.yaml:4:18: policy: field \"carbon_weight\": and energy_weight are "
                  "both 0: give one of them weight"));
  EXPECT_THAT(Errors("policy:\n  green_min_saving: 10\n" + std::string(kBase)),
              ElementsAre("register.yaml:2:21: policy: field \"green_min_saving\": must be a "
                          "fraction from 0 to below 1 (0.10 is 10 %), got 10"));
  EXPECT_THAT(Errors("policy:\n  green_max_window: 30d\n" + std::string(kBase)),
              ElementsAre("register.yaml:2:21: policy: field \"green_max_window\": must be from "
                          "0 (no green windows) to 14d, got 720h"));
}

// A register that sets none of the newer policy fields keeps the version it had before them;
// setting one changes it.
TEST(RegisterParseTest, NewPolicyFieldsChangeTheVersionOnlyWhenSet) {
  auto plain = Register::Parse(std::string(kBase), "register.yaml");
  auto defaults = Register::Parse(
      "policy:\n  green_min_saving: 0.1\n  green_max_window: 48h\n" + std::string(kBase),
      "register.yaml");
  auto set = Register::Parse("policy:\n  green_min_saving: 0.2\n" + std::string(kBase),
                             "register.yaml");
  auto learned_default = Register::Parse(
      "policy:\n  learned_energy_min_jobs: 20\n" + std::string(kBase), "register.yaml");
  auto learned_set = Register::Parse(
      "policy:\n  learned_energy_min_jobs: 50\n" + std::string(kBase), "register.yaml");
  ASSERT_TRUE(plain.ok() && defaults.ok() && set.ok() && learned_default.ok() && learned_set.ok());
  EXPECT_EQ((*plain)->version(), (*defaults)->version());
  EXPECT_NE((*plain)->version(), (*set)->version());
  EXPECT_EQ((*plain)->version(), (*learned_default)->version());
  EXPECT_NE((*plain)->version(), (*learned_set)->version());
  EXPECT_EQ((*learned_set)->policy().learned_energy_min_jobs, 50);
  EXPECT_THAT(Errors("policy:\n  learned_energy_min_jobs: -1\n" + std::string(kBase)),
              ElementsAre("register.yaml:2:28: policy: field \"learned_energy_min_jobs\": must "
                          "be >= 0, got -1"));
}

}  // namespace sovereign
