#include "register_lifecycle/register_versions.h"

#include <algorithm>

namespace sovereign::service {

std::shared_ptr<const Register> RegisterVersions::Get(
    const std::string& version, const std::function<std::shared_ptr<const Register>()>& load) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = by_version_.find(version); it != by_version_.end()) {
    it->second.used = ++tick_;
    return it->second.reg;
  }
  std::shared_ptr<const Register> reg = load();
  if (reg == nullptr) {
    return nullptr;
  }
  if (by_version_.size() >= kept_) {
    by_version_.erase(std::min_element(
        by_version_.begin(), by_version_.end(),
        [](const auto& a, const auto& b) { return a.second.used < b.second.used; }));
  }
  by_version_[version] = Entry{reg, ++tick_};
  return reg;
}

size_t RegisterVersions::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_version_.size();
}

}  // namespace sovereign::service
