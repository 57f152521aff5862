// Parsed registers by version, for reading records decided under older registers (the spool
// ingester names each candidate by its register's partitions). Only the most recently used
// versions stay parsed: a register of 10,000 datasets is megabytes once parsed, and an admin
// may apply hundreds of versions over a cluster's life.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "sovereign/register.h"

namespace sovereign::service {

class RegisterVersions {
 public:
  static constexpr size_t kDefaultKept = 16;
  explicit RegisterVersions(size_t kept = kDefaultKept) : kept_(kept) {}

  // The register of `version`, parsed by `load` unless it is kept already (null when `load`
  // has none: not kept).
  std::shared_ptr<const Register> Get(
      const std::string& version,
      const std::function<std::shared_ptr<const Register>()>& load);
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const Register> reg;
    uint64_t used = 0;  // tick of the last Get
  };
  const size_t kept_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_version_;  // guarded by mu_
  uint64_t tick_ = 0;                        // guarded by mu_
};

}  // namespace sovereign::service
