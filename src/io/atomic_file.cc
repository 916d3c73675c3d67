#include "io/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace qs::io {

Status write_file_atomic(const std::string& path, std::string_view bytes, bool sync) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return IoError("cannot write '{}': folder '{}' does not exist", path, dir.string());
  const std::string tmp = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return IoError("cannot write '{}': {}", path, std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 &&
                  (!sync || ::fsync(fileno(f)) == 0);
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    return IoError("cannot write '{}': {}", path, std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    return IoError("cannot write '{}': {}", path, std::strerror(e));
  }
  return Status::Ok();
}

}  // namespace qs::io
