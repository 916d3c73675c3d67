// Shared pieces of the command line: exit codes and error reporting.
#pragma once
#include <string>

#include "core/status.h"

namespace qs::cli {

enum ExitCode : int { kOk = 0, kFailure = 1, kBadUsage = 2, kBadInput = 3 };

// Prints "qscope: <message>" on one line to stderr and returns the exit code for the status.
int report_error(const Status& st);

}  // namespace qs::cli
