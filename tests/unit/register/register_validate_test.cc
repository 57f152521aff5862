// The register's rules (names, ranges, cross-references), through Parse and FromParts.
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

std::string WithPolicy(const std::string& policy) { return "policy:\n" + policy + kBase; }

TEST(RegisterValidateTest, TheBaseIsValid) { EXPECT_THAT(Errors(kBase), ::testing::IsEmpty()); }

TEST(RegisterValidateTest, UndeclaredReferences) {
  EXPECT_THAT(Errors(With("regions: [eu]", "regions: [eu, eu-west]")),
              ElementsAre("register.yaml:24:19: dataset \"patients-eu\": field \"regions\": "
                          "region \"eu-west\" is not declared (known: eu, us)"));
  EXPECT_THAT(Errors(With("    region: eu", "    region: europe")),
              ElementsAre("register.yaml:6:13: site \"paris-1\": field \"region\": region "
                          "\"europe\" is not declared (known: eu, us)"));
  EXPECT_THAT(Errors(With("site: paris-1", "site: paris-2")),
              ElementsAre("register.yaml:14:11: partition \"gpu-fr\": field \"site\": site "
                          "\"paris-2\" is not declared (known: paris-1)"));
  EXPECT_THAT(Errors(With("datasets: [patients-eu]", "datasets: [patients-eu, patients]")),
              ElementsAre("register.yaml:27:29: account \"oncology\": field \"datasets\": "
                          "dataset \"patients\" is not declared (known: patients-eu)"));
  EXPECT_THAT(Errors(WithPolicy("  unlabelled: default-region\n  default_region: asia\n")),
              ElementsAre("register.yaml:3:19: policy: field \"default_region\": region "
                          "\"asia\" is not declared (known: eu, us)"));
  EXPECT_THAT(Errors(With("regions: [eu]", "regions: [eu]\n    jurisdictions: [EU, Eu]")),
              ElementsAre("register.yaml:25:25: dataset \"patients-eu\": field \"jurisdictions\": "
                          "jurisdiction \"Eu\" is not the operator_jurisdiction of any site "
                          "(known: EU)"));
}

TEST(RegisterValidateTest, DuplicateNames) {
  EXPECT_THAT(Errors(With("  - name: us\n", "  - name: us\n  - name: eu\n")),
              ElementsAre("register.yaml:4:11: region \"eu\": field \"name\": duplicate name, "
                          "first declared at line 2"));
  EXPECT_THAT(Errors(With("accounts:\n",
                          "  - name: patients-eu\n    classification: public\n"
                          "    regions: [us]\naccounts:\n")),
              ElementsAre("register.yaml:25:11: dataset \"patients-eu\": field \"name\": "
                          "duplicate name, first declared at line 22"));
}

TEST(RegisterValidateTest, BadNames) {
  EXPECT_THAT(Errors(With("  - name: us\n", "  - name: us east\n")),
              ElementsAre("register.yaml:3:11: region \"us east\": field \"name\": bad name "
                          "\"us east\": names are 1 to 64 bytes of letters, digits, '.', '_' and "
                          "'-'"));
  const std::string long_name(65, 'a');
  EXPECT_THAT(Errors(With("  - name: us\n", "  - name: " + long_name + "\n")),
              ElementsAre("register.yaml:3:11: region \"" + long_name +
                          "\": field \"name\": "
                          "bad name \"" +
                          long_name +
                          "\": names are 1 to 64 bytes of letters, "
                          "digits, '.', '_' and '-'"));
  EXPECT_THAT(Errors(With("  - name: us\n", "  - name: \"\"\n")),
              ElementsAre("register.yaml:3:11: region #2: field \"name\": bad name \"\": names "
                          "are 1 to 64 bytes of letters, digits, '.', '_' and '-'"));
  EXPECT_THAT(Errors(With("gpu_type: a100", "gpu_type: a100:2")),
              ElementsAre("register.yaml:15:15: partition \"gpu-fr\": field \"gpu_type\": bad "
                          "GRES type \"a100:2\": names are 1 to 64 bytes of letters, digits, '.', "
                          "'_' and '-'"));
  EXPECT_THAT(Errors(With("regions: [eu]", "regions: [eu]\n    groups: [\"onc ology\"]")),
              ElementsAre("register.yaml:25:14: dataset \"patients-eu\": field \"groups\": bad "
                          "group name \"onc ology\": 1 to 256 bytes without spaces, control "
                          "characters, ',' or ':'"));
}

TEST(RegisterValidateTest, AccountNamesAreLowerCase) {
  EXPECT_THAT(Errors(With("name: oncology", "name: Oncology")),
              ElementsAre("register.yaml:26:11: account \"Oncology\": field \"name\": Slurm "
                          "keeps account names in lower case; write \"oncology\""));
}

TEST(RegisterValidateTest, EmptyRegionList) {
  EXPECT_THAT(Errors(With("regions: [eu]", "regions: []")),
              ElementsAre("register.yaml:24:14: dataset \"patients-eu\": field \"regions\": must "
                          "list at least one region"));
}

TEST(RegisterValidateTest, PowerFigures) {
  EXPECT_THAT(Errors(With("gpu_watts: 400", "gpu_watts: -400")),
              ElementsAre("register.yaml:18:16: partition \"gpu-fr\": field \"gpu_watts\": must "
                          "be >= 0, got -400"));
  EXPECT_THAT(Errors(With("node_watts: 900", "node_watts: -1.5")),
              ElementsAre("register.yaml:20:17: partition \"gpu-fr\": field \"node_watts\": "
                          "must be >= 0, got -1.5"));
  EXPECT_THAT(Errors(With("gpu_idle_watts: 50", "gpu_idle_watts: 450")),
              ElementsAre("register.yaml:19:21: partition \"gpu-fr\": field \"gpu_idle_watts\": "
                          "450 is more than gpu_watts (400)"));
  EXPECT_THAT(Errors(With("gpus_per_node: 8", "gpus_per_node: 0")),
              ElementsAre("register.yaml:16:20: partition \"gpu-fr\": field \"gpus_per_node\": "
                          "must be >= 1, got 0"));
  EXPECT_THAT(Errors(With("nodes: 4", "nodes: -2")),
              ElementsAre("register.yaml:17:12: partition \"gpu-fr\": field \"nodes\": must be "
                          ">= 1, got -2"));
  EXPECT_THAT(Errors(With("gpus_per_node: 8", "gpus_per_node: 2048")),
              ElementsAre("register.yaml:16:20: partition \"gpu-fr\": field \"gpus_per_node\": "
                          "must be <= 1024, got 2048"));
}

TEST(RegisterValidateTest, SiteFigures) {
  EXPECT_THAT(Errors(With("pue: 1.2", "pue: 0.9")),
              ElementsAre("register.yaml:10:10: site \"paris-1\": field \"pue\": must be >= 1.0, "
                          "got 0.9"));
  EXPECT_THAT(Errors(With("pue: 1.2", "pue: nan")),
              ElementsAre("register.yaml:10:10: site \"paris-1\": field \"pue\": must be a finite "
                          "number, got nan"));
  EXPECT_THAT(Errors(With("carbon_intensity: 31", "carbon_intensity: -31")),
              ElementsAre("register.yaml:11:23: site \"paris-1\": field \"carbon_intensity\": "
                          "must be >= 0, got -31"));
  EXPECT_THAT(Errors(With("operator: Example SAS", "operator: \"\"")),
              ElementsAre("register.yaml:8:15: site \"paris-1\": field \"operator\": must not be "
                          "empty"));
  EXPECT_THAT(Errors(With("operator_jurisdiction: EU", "operator_jurisdiction: E U")),
              ElementsAre("register.yaml:9:28: site \"paris-1\": field \"operator_jurisdiction\": "
                          "bad jurisdiction \"E U\": names are 1 to 64 bytes of letters, digits, "
                          "'.', '_' and '-'"));
}

TEST(RegisterValidateTest, CountryCodes) {
  for (const char* good : {"FR", "DE", "US", "IN", "GB", "NO"}) {
    EXPECT_THAT(Errors(With("country: FR", std::string("country: ") + good)), ::testing::IsEmpty())
        << good;
  }
  EXPECT_THAT(Errors(With("country: FR", "country: fr")),
              ElementsAre("register.yaml:7:14: site \"paris-1\": field \"country\": \"fr\" is not "
                          "an ISO 3166-1 alpha-2 country code (two uppercase letters, e.g. FR)"));
  EXPECT_THAT(Errors(With("country: FR", "country: FRA")),
              ElementsAre("register.yaml:7:14: site \"paris-1\": field \"country\": \"FRA\" is "
                          "not an ISO 3166-1 alpha-2 country code (two uppercase letters, e.g. "
                          "FR)"));
  EXPECT_THAT(Errors(With("country: FR", "country: UK")),
              ElementsAre("register.yaml:7:14: site \"paris-1\": field \"country\": \"UK\" is not "
                          "an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)"));
}

TEST(RegisterValidateTest, Policy) {
  EXPECT_THAT(Errors(WithPolicy("  unlabelled: default-region\n")),
              ElementsAre("register.yaml:2:3: policy: field \"default_region\": required when "
                          "unlabelled is default-region"));
  EXPECT_THAT(Errors(WithPolicy("  default_region: eu\n")),
              ElementsAre("register.yaml:2:19: policy: field \"default_region\": \"eu\" has no "
                          "effect because unlabelled is any-region (set unlabelled: "
                          "default-region to send unlabelled jobs there)"));
  EXPECT_THAT(Errors(WithPolicy("  max_labels: 0\n  max_label_bytes: -1\n")),
              ElementsAre("register.yaml:2:15: policy: field \"max_labels\": must be >= 1, got 0",
                          "register.yaml:3:20: policy: field \"max_label_bytes\": must be >= 1, "
                          "got -1"));
  EXPECT_THAT(Errors(WithPolicy("  default_time_limit: 0s\n")),
              ElementsAre("register.yaml:2:23: policy: field \"default_time_limit\": must be "
                          "longer than zero"));
  EXPECT_THAT(Errors(WithPolicy("  default_time_limit: -1h\n")),
              ElementsAre("register.yaml:2:23: policy: field \"default_time_limit\": must be "
                          "longer than zero"));
  EXPECT_THAT(Errors(WithPolicy("  max_label_bytes: 8\n")),
              ElementsAre("register.yaml:24:11: dataset \"patients-eu\": field \"name\": name is "
                          "11 bytes, more than policy max_label_bytes (8): no job could use this "
                          "dataset"));
}

TEST(RegisterValidateTest, FreeTextMustBeUtf8) {
  EXPECT_THAT(Errors(With("  - name: us\n", "  - name: us\n    law: caf\xE9\n")),
              ElementsAre("register.yaml:4:10: region \"us\": field \"law\": \"caf\\xe9\" is not "
                          "valid UTF-8"));
  EXPECT_THAT(Errors(With("  - name: us\n", "  - name: us\n    law: \"café\"\n")),
              ::testing::IsEmpty());
}

// One mistake, one message: a field the parser rejected is not judged again.
TEST(RegisterValidateTest, OneMessagePerMistake) {
  EXPECT_THAT(Errors(With("nodes: 4", "nodes: four")),
              ElementsAre("register.yaml:17:12: partition \"gpu-fr\": field \"nodes\": expected "
                          "an integer, got \"four\""));
  EXPECT_THAT(Errors(With("    site: paris-1\n", "")),
              ElementsAre("register.yaml:13:5: partition \"gpu-fr\": missing required field "
                          "\"site\""));
  EXPECT_THAT(Errors(WithPolicy("  unlabelled: default\n  default_region: eu\n")),
              ElementsAre("register.yaml:2:15: policy: field \"unlabelled\": bad value "
                          "\"default\" (expected one of: any-region, default-region)"));
}

TEST(RegisterValidateTest, EveryErrorAtOnceInLineOrder) {
  std::string yaml = kBase;
  yaml = With("pue: 1.2", "pue: 0.5", yaml);
  yaml = With("    region: eu", "    regoin: eu", yaml);
  yaml = With("site: paris-1", "site: lyon-1", yaml);
  yaml = With("gpu_watts: 400", "gpu_watts: lots", yaml);
  yaml = With("regions: [eu]", "regions: []", yaml);
  yaml = With("datasets: [patients-eu]", "datasets: [genomics]", yaml);
  std::vector<Diagnostic> diagnostics;
  auto reg = Register::Parse(yaml, "register.yaml", &diagnostics);
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.status().message(),
            "invalid register (7 errors):\n"
            "register.yaml:5:5: site \"paris-1\": missing required field \"region\"\n"
            "register.yaml:6:5: site \"paris-1\": unknown field \"regoin\" (did you mean "
            "\"region\"?)\n"
            "register.yaml:10:10: site \"paris-1\": field \"pue\": must be >= 1.0, got 0.5\n"
            "register.yaml:14:11: partition \"gpu-fr\": field \"site\": site \"lyon-1\" is not "
            "declared (known: paris-1)\n"
            "register.yaml:18:16: partition \"gpu-fr\": field \"gpu_watts\": expected a number, "
            "got \"lots\"\n"
            "register.yaml:24:14: dataset \"patients-eu\": field \"regions\": must list at least "
            "one region\n"
            "register.yaml:27:16: account \"oncology\": field \"datasets\": dataset \"genomics\" "
            "is not declared (known: patients-eu)");
  ASSERT_EQ(diagnostics.size(), 7u);
  EXPECT_EQ(diagnostics[3].location.file, "register.yaml");
  EXPECT_EQ(diagnostics[3].location.line, 14);
  EXPECT_EQ(diagnostics[3].location.column, 11);
}

// Values built in code have no location: the diagnostic has no file:line.
TEST(RegisterValidateTest, FromPartsUsesTheSameRules) {
  Region eu = testing::NamedRegion("eu");
  Site site = testing::ParisSite();
  Partition p = testing::GpuFr();
  Dataset d = testing::PatientsEu();
  ASSERT_TRUE(Register::FromParts({}, {eu}, {site}, {p}, {d}, {}).ok());

  Site bad_site = site;
  bad_site.region = "asia";
  Dataset empty;
  empty.name = "x";
  std::vector<Diagnostic> diagnostics;
  auto reg = Register::FromParts({}, {eu}, {bad_site, site}, {p}, {d, empty}, {}, &diagnostics);
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.status().message(),
            "invalid register (3 errors):\n"
            "<register>: site \"paris-1\": field \"name\": duplicate name, first declared at "
            "site #1\n"
            "<register>: site \"paris-1\": field \"region\": region \"asia\" is not declared "
            "(known: eu)\n"
            "<register>: dataset \"x\": field \"regions\": must list at least one region");
  ASSERT_EQ(diagnostics.size(), 3u);
  EXPECT_EQ(diagnostics[0].location.line, 0);
}

}  // namespace
}  // namespace sovereign
