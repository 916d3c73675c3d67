// (being written)
#include "ops/families.h"
namespace qs::ops {
std::span<const OpSchema> conv_ops() { return {}; }
}  // namespace qs::ops
