// Shared by the register tests: a small valid register and helpers to bend it.
#pragma once

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sovereign/register.h"

namespace sovereign::testing {

// A minimal valid register. Line numbers matter: tests pin file:line:column.
inline constexpr char kBase[] =
    R"(regions:
  - name: eu
  - name: us
sites:
  - name: paris-1
    region: eu
    country: FR
    operator: Example SAS
    operator_jurisdiction: EU
    pue: 1.2
    carbon_intensity: 31
partitions:
  - name: gpu-fr
    site: paris-1
    gpu_type: a100
    gpus_per_node: 8
    nodes: 4
    gpu_watts: 400
    gpu_idle_watts: 50
    node_watts: 900
datasets:
  - name: patients-eu
    classification: sovereign
    regions: [eu]
accounts:
  - name: oncology
    datasets: [patients-eu]
)";

// The objects of kBase, built in code (no source locations).
inline Region NamedRegion(const std::string& name) {
  Region r;
  r.name = name;
  return r;
}
inline Site ParisSite() {
  Site s;
  s.name = "paris-1";
  s.region = "eu";
  s.country = "FR";
  s.operator_name = "Example SAS";
  s.operator_jurisdiction = "EU";
  s.pue = 1.2;
  s.carbon_intensity = 31;
  return s;
}
inline Partition GpuFr() {
  Partition p;
  p.name = "gpu-fr";
  p.site = "paris-1";
  p.gpu_type = "a100";
  p.gpus_per_node = 8;
  p.nodes = 4;
  p.gpu_watts = 400;
  p.gpu_idle_watts = 50;
  p.node_watts = 900;
  return p;
}
inline Dataset PatientsEu() {
  Dataset d;
  d.name = "patients-eu";
  d.classification = Classification::kSovereign;
  d.regions = {"eu"};
  return d;
}
inline Account Oncology() {
  Account a;
  a.name = "oncology";
  a.datasets = {"patients-eu"};
  return a;
}

// kBase (or `text`) with the first `from` replaced by `to`; fails the test if absent.
inline std::string With(const std::string& from, const std::string& to, std::string text = kBase) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "not in the register: " << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The diagnostics of parsing `yaml` as "register.yaml", as text; empty when it is valid.
inline std::vector<std::string> Errors(const std::string& yaml) {
  std::vector<Diagnostic> diagnostics;
  auto reg = Register::Parse(yaml, "register.yaml", &diagnostics);
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) {
    out.push_back(d.ToString());
  }
  EXPECT_EQ(reg.ok(), out.empty()) << reg.status();
  return out;
}

}  // namespace sovereign::testing
