#include "cli_common.h"

#include <cstdio>

namespace qs::cli {

int report_error(const Status& st) {
  std::string msg = st.message();
  for (char& c : msg)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "qscope: error: %s\n", msg.c_str());
  switch (st.kind()) {
    case ErrorKind::kUsage: return kBadUsage;
    case ErrorKind::kInternal: return kFailure;
    default: return kBadInput;
  }
}

}  // namespace qs::cli
