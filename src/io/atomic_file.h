// Writes a file under a temporary name in the same folder, then renames it into place,
// so that an interrupted run never leaves a half-written file where a good one was.
#pragma once
#include <string>
#include <string_view>

#include "core/status.h"

namespace qs::io {

Status write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace qs::io
