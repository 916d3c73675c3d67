// Writes a file under a temporary name in the same folder, then renames it into place,
// so that an interrupted run never leaves a half-written file where a good one was.
#pragma once
#include <string>
#include <string_view>

#include "core/status.h"

namespace qs::io {

// sync: flush the data to the disk before the rename, so that the file is whole after a power
// cut too. Without it the file is still whole, or the old one, when the process is killed at
// any point (the kernel keeps what was written), and the write costs no disk flush: for files
// rewritten often, such as the sweep's state after every step.
Status write_file_atomic(const std::string& path, std::string_view bytes, bool sync = true);

}  // namespace qs::io
