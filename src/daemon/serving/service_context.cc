#include "serving/service_context.h"

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
  std::string needed = names.back();
  if (names.size() > 1) {
    names.pop_back();
    needed = absl::StrCat(absl::StrJoin(names, ", "), " or ", needed);
  }
  return absl::PermissionDeniedError(
      absl::StrCat(caller.Describe(), " may not ", action, ": it needs the ", needed, " role"));
}

absl::StatusOr<Caller> AuthoriseCall(const ServiceContext& ctx,
                                     const grpc::ServerContextBase& context, unsigned roles,
                                     const std::string& action, bool needs_log) {
  absl::StatusOr<Caller> caller = ctx.auth->Identify(context);
  if (!caller.ok()) {
    return caller.status();
  }
  // A certificate without a role has no Unix identity to act as: it may do nothing.
  if (roles == kAnyCaller && caller->transport == Caller::Transport::kTls) {
    roles = kReaders | static_cast<unsigned>(Role::kService);
  }
  if (roles != kAnyCaller) {
    if (absl::Status s = RequireRole(*caller, roles, action); !s.ok()) {
      return s;
    }
  }
  if (ctx.limiter != nullptr) {
    if (absl::Status s = ctx.limiter->Admit(*caller); !s.ok()) {
      return s;
    }
  }
  if (needs_log) {
    if (absl::Status s = RequireAuditLog(ctx); !s.ok()) {
      return s;
    }
  }
  return caller;
}

absl::Status RequireAuditLog(const ServiceContext& ctx) {
  if (ctx.log == nullptr) {
    return absl::FailedPreconditionError(
        "the audit log is disabled in this daemon's config (audit.enabled: false)");
  }
  return absl::OkStatus();
}

}  // namespace sovereign::service
