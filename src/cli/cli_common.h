// What sovereignctl's offline commands share: how an error reaches the user, and loading the
// register with every one of its problems reported.
//
// Thread-safety: these write to stdout/stderr; call them from the main thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "sovereign/register.h"

namespace sovereign::cli {

// Prints "sovereignctl <command>: <message>" and a newline to stderr.
void PrintError(absl::string_view command, absl::string_view message);

// The outcome of reading a register file.
struct LoadedRegister {
  std::shared_ptr<const Register> reg;  // null unless the file was read and is valid
  // When reg is null: every problem found, in line order (empty when the file could not be
  // read at all), and the whole failure as one message.
  std::vector<Diagnostic> diagnostics;
  std::string error;
  // kExitOk, kExitNo (the file is not a valid register) or kExitUsage (it cannot be read).
  int exit_code = 0;
};
LoadedRegister LoadRegisterFile(const std::string& path);

}  // namespace sovereign::cli
