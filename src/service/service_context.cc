#include "service_context.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sovereign::service {

absl::Status RequireRole(const Caller& caller, unsigned roles, const std::string& action) {
  if ((caller.roles & roles) != 0) {
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  if (roles & static_cast<unsigned>(Role::kAdmin)) {
    names.push_back("admin");
  }
  if (roles & static_cast<unsigned>(Role::kAuditor)) {
    names.push_back("auditor");
  }
  if (roles & static_cast<unsigned>(Role::kService)) {
    names.push_back("service");
  }
  return absl::PermissionDeniedError(absl::StrCat(caller.Describe(), " may not ", action,
                                                  ": it needs the ",
                                                  absl::StrJoin(names, " or "), " role"));
}

absl::Status RequireAuditLog(const ServiceContext& ctx) {
  if (ctx.log == nullptr) {
    return absl::FailedPreconditionError(
        "the audit log is disabled in this daemon's config (audit.enabled: false)");
  }
  return absl::OkStatus();
}

}  // namespace sovereign::service
