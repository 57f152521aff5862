#include "cli_common.h"

#include <iostream>

#include "commands.h"

namespace sovereign::cli {

void PrintError(absl::string_view command, absl::string_view message) {
  std::cerr << "sovereignctl " << command << ": " << message << "\n";
}

LoadedRegister LoadRegisterFile(const std::string& path) {
  LoadedRegister out;
  absl::StatusOr<std::shared_ptr<const Register>> reg = Register::Load(path, &out.diagnostics);
  if (reg.ok()) {
    out.reg = *std::move(reg);
    out.exit_code = kExitOk;
    return out;
  }
  out.error = std::string(reg.status().message());
  // Diagnostics come back only when the file was read: then its content is what is wrong.
  out.exit_code = out.diagnostics.empty() ? kExitUsage : kExitNo;
  return out;
}

}  // namespace sovereign::cli
