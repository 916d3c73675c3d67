#include "kernels/reference/elementwise.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/half.h"

namespace qs::kernels::ref {

BroadcastParams make_broadcast(const Shape& out, const std::vector<Shape>& inputs) {
  BroadcastParams p;
  p.num_inputs = static_cast<int>(inputs.size());
  p.numel = qs::numel(out);
  const size_t r = out.size();
  // Full-rank dense strides of each input, 0 where it broadcasts.
  std::array<std::vector<int64_t>, 3> full;
  for (int k = 0; k < p.num_inputs; ++k) {
    const Shape& s = inputs[static_cast<size_t>(k)];
    full[k].assign(r, 0);
    int64_t stride = 1;
    for (size_t i = s.size(); i-- > 0;) {
      const size_t d = i + (r - s.size());
      full[k][d] = s[i] == 1 ? 0 : stride;
      stride *= s[i];
    }
  }
  for (size_t d = 0; d < r; ++d) {
    if (out[d] == 1) continue;
    bool merge = !p.dims.empty();
    for (int k = 0; k < p.num_inputs && merge; ++k)
      merge = (full[k][d] == 0) == (p.strides[k].back() == 0);
    if (merge) {
      p.dims.back() *= out[d];
      for (int k = 0; k < p.num_inputs; ++k) p.strides[k].back() = full[k][d];
    } else {
      p.dims.push_back(out[d]);
      for (int k = 0; k < p.num_inputs; ++k) p.strides[k].push_back(full[k][d]);
    }
  }
  if (p.dims.empty()) {  // a single element (or a shape of all ones)
    p.dims.push_back(1);
    for (int k = 0; k < p.num_inputs; ++k) p.strides[k].push_back(0);
  }
  return p;
}

namespace {

// Wrapping integer arithmetic: signed overflow is undefined in C++, and small types
// promote to int, where uint16 * uint16 can overflow too; so compute in a wide unsigned.
template <typename T>
using Wide = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <typename T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b));
  else return a + b;
}
template <typename T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b));
  else return a - b;
}
template <typename T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b));
  else return a * b;
}
template <typename T>
T safe_div(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return 0;
    // min / -1 overflows (and traps on x86); -a wraps back to min, as two's complement would.
    if constexpr (std::is_signed_v<T>)
      if (b == -1) return wrap_sub<T>(0, a);
    return static_cast<T>(a / b);
  } else {
    return a / b;
  }
}
template <typename T>
T nan_max(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return (a > b || std::isnan(a)) ? a : b;
  else return a > b ? a : b;
}
template <typename T>
T nan_min(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return (a < b || std::isnan(a)) ? a : b;
  else return a < b ? a : b;
}

template <typename T>
T int_pow(T base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<T>)
      if (base == -1) return (e & 1) ? T(-1) : T(1);
    return 0;
  }
  T r = 1;
  while (e) {
    if (e & 1) r = wrap_mul(r, base);
    base = wrap_mul(base, base);
    e >>= 1;
  }
  return r;
}

// Converts a double to an integer type, truncating and saturating (NaN -> 0).
template <typename T>
T saturate(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  // max() of 64-bit types rounds up to 2^63 / 2^64 as a double, so compare with >=.
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

}  // namespace

template <typename T>
void binary(BinaryOp op, const BroadcastParams& p, const T* a, const T* b, T* y) {
  switch (op) {
    case BinaryOp::kAdd: return broadcast_binary(p, a, b, y, [](T x, T z) { return wrap_add(x, z); });
    case BinaryOp::kSub: return broadcast_binary(p, a, b, y, [](T x, T z) { return wrap_sub(x, z); });
    case BinaryOp::kMul: return broadcast_binary(p, a, b, y, [](T x, T z) { return wrap_mul(x, z); });
    case BinaryOp::kDiv: return broadcast_binary(p, a, b, y, [](T x, T z) { return safe_div(x, z); });
    case BinaryOp::kMax: return broadcast_binary(p, a, b, y, [](T x, T z) { return nan_max(x, z); });
    case BinaryOp::kMin: return broadcast_binary(p, a, b, y, [](T x, T z) { return nan_min(x, z); });
  }
}

void binary_f16(BinaryOp op, const BroadcastParams& p, const uint16_t* a, const uint16_t* b, uint16_t* y) {
  auto via_float = [&](auto f) {
    broadcast_binary(p, a, b, y, [f](uint16_t x, uint16_t z) {
      return float_to_half(f(half_to_float(x), half_to_float(z)));
    });
  };
  switch (op) {
    case BinaryOp::kAdd: return via_float([](float x, float z) { return x + z; });
    case BinaryOp::kSub: return via_float([](float x, float z) { return x - z; });
    case BinaryOp::kMul: return via_float([](float x, float z) { return x * z; });
    case BinaryOp::kDiv: return via_float([](float x, float z) { return x / z; });
    case BinaryOp::kMax: return via_float([](float x, float z) { return nan_max(x, z); });
    case BinaryOp::kMin: return via_float([](float x, float z) { return nan_min(x, z); });
  }
}

template <typename TB, typename TE>
void pow(const BroadcastParams& p, const TB* base, const TE* exponent, TB* y) {
  if constexpr (std::is_integral_v<TB> && std::is_integral_v<TE>) {
    broadcast_binary(p, base, exponent, y, [](TB x, TE e) {
      if constexpr (std::is_same_v<TE, uint64_t>)  // beyond int64: as large as any other huge exponent
        return int_pow<TB>(x, e > uint64_t{INT64_MAX} ? INT64_MAX : static_cast<int64_t>(e));
      else
        return int_pow<TB>(x, static_cast<int64_t>(e));
    });
  } else if constexpr (std::is_same_v<TB, float> && std::is_same_v<TE, float>) {
    broadcast_binary(p, base, exponent, y, [](float x, float e) { return std::pow(x, e); });
  } else if constexpr (std::is_floating_point_v<TB>) {
    broadcast_binary(p, base, exponent, y,
                     [](TB x, TE e) { return static_cast<TB>(std::pow(double(x), double(e))); });
  } else {  // integer base, floating exponent: the real power, truncated and saturated
    broadcast_binary(p, base, exponent, y,
                     [](TB x, TE e) { return saturate<TB>(std::pow(double(x), double(e))); });
  }
}

template <typename T>
void compare(CompareOp op, const BroadcastParams& p, const T* a, const T* b, bool* y) {
  switch (op) {
    case CompareOp::kEqual: return broadcast_binary(p, a, b, y, [](T x, T z) { return x == z; });
    case CompareOp::kLess: return broadcast_binary(p, a, b, y, [](T x, T z) { return x < z; });
    case CompareOp::kGreater: return broadcast_binary(p, a, b, y, [](T x, T z) { return x > z; });
    case CompareOp::kLessOrEqual: return broadcast_binary(p, a, b, y, [](T x, T z) { return x <= z; });
    case CompareOp::kGreaterOrEqual: return broadcast_binary(p, a, b, y, [](T x, T z) { return x >= z; });
  }
}

void logic(LogicOp op, const BroadcastParams& p, const uint8_t* a, const uint8_t* b, bool* y) {
  switch (op) {
    case LogicOp::kAnd: return broadcast_binary(p, a, b, y, [](uint8_t x, uint8_t z) { return x != 0 && z != 0; });
    case LogicOp::kOr: return broadcast_binary(p, a, b, y, [](uint8_t x, uint8_t z) { return x != 0 || z != 0; });
    case LogicOp::kXor: return broadcast_binary(p, a, b, y, [](uint8_t x, uint8_t z) { return (x != 0) != (z != 0); });
  }
}

void logical_not(const uint8_t* x, bool* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] == 0;
}

template <typename T>
void is_nan(const T* x, bool* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::isnan(x[i]);
}
template <typename T>
void is_inf(const T* x, bool* y, int64_t n, bool negative, bool positive) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::isinf(x[i]) && (x[i] < 0 ? negative : positive);
}
template void is_nan<float>(const float*, bool*, int64_t);
template void is_nan<double>(const double*, bool*, int64_t);
template void is_inf<float>(const float*, bool*, int64_t, bool, bool);
template void is_inf<double>(const double*, bool*, int64_t, bool, bool);

namespace {
template <typename T>
void where_t(const BroadcastParams& p, const uint8_t* c, const T* x, const T* y, T* out) {
  const int64_t sc = inner_stride(p, 0), sx = inner_stride(p, 1), sy = inner_stride(p, 2);
  for_each_run(p, [&](const std::array<int64_t, 3>& off, int64_t o, int64_t n) {
    const uint8_t* pc = c + off[0];
    const T* px = x + off[1];
    const T* py = y + off[2];
    T* po = out + o;
    for (int64_t i = 0; i < n; ++i) po[i] = pc[i * sc] ? px[i * sx] : py[i * sy];
  });
}
}  // namespace

void where(const BroadcastParams& p, const uint8_t* cond, const void* x, const void* y, void* out,
           size_t element_size) {
  switch (element_size) {
    case 1: return where_t(p, cond, static_cast<const uint8_t*>(x), static_cast<const uint8_t*>(y), static_cast<uint8_t*>(out));
    case 2: return where_t(p, cond, static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(y), static_cast<uint16_t*>(out));
    case 4: return where_t(p, cond, static_cast<const uint32_t*>(x), static_cast<const uint32_t*>(y), static_cast<uint32_t*>(out));
    default: return where_t(p, cond, static_cast<const uint64_t*>(x), static_cast<const uint64_t*>(y), static_cast<uint64_t*>(out));
  }
}

namespace {
template <typename T, typename F>
void map(const T* x, T* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}
}  // namespace

template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n) {
  switch (op) {
    case UnaryOp::kSqrt: return map(x, y, n, [](T v) { return std::sqrt(v); });
    case UnaryOp::kExp: return map(x, y, n, [](T v) { return std::exp(v); });
    case UnaryOp::kLog: return map(x, y, n, [](T v) { return std::log(v); });
    case UnaryOp::kErf: return map(x, y, n, [](T v) { return std::erf(v); });
    case UnaryOp::kAbs: return map(x, y, n, [](T v) { return std::fabs(v); });
    case UnaryOp::kNeg: return map(x, y, n, [](T v) { return -v; });
    case UnaryOp::kReciprocal: return map(x, y, n, [](T v) { return T(1) / v; });
    case UnaryOp::kFloor: return map(x, y, n, [](T v) { return std::floor(v); });
    case UnaryOp::kCeil: return map(x, y, n, [](T v) { return std::ceil(v); });
    // nearbyint rounds half to even in the default rounding mode, as ONNX's Round asks.
    case UnaryOp::kRound: return map(x, y, n, [](T v) { return std::nearbyint(v); });
    case UnaryOp::kSign: return map(x, y, n, [](T v) { return v > 0 ? T(1) : v < 0 ? T(-1) : v; });
    case UnaryOp::kSin: return map(x, y, n, [](T v) { return std::sin(v); });
    case UnaryOp::kCos: return map(x, y, n, [](T v) { return std::cos(v); });
    case UnaryOp::kTan: return map(x, y, n, [](T v) { return std::tan(v); });
    case UnaryOp::kAsin: return map(x, y, n, [](T v) { return std::asin(v); });
    case UnaryOp::kAcos: return map(x, y, n, [](T v) { return std::acos(v); });
    case UnaryOp::kAtan: return map(x, y, n, [](T v) { return std::atan(v); });
    case UnaryOp::kSinh: return map(x, y, n, [](T v) { return std::sinh(v); });
    case UnaryOp::kCosh: return map(x, y, n, [](T v) { return std::cosh(v); });
    case UnaryOp::kAsinh: return map(x, y, n, [](T v) { return std::asinh(v); });
    case UnaryOp::kAcosh: return map(x, y, n, [](T v) { return std::acosh(v); });
    case UnaryOp::kAtanh: return map(x, y, n, [](T v) { return std::atanh(v); });
  }
}

template <typename T>
void unary_int(UnaryOp op, const T* x, T* y, int64_t n) {
  switch (op) {
    case UnaryOp::kAbs: return map(x, y, n, [](T v) { return v < 0 ? wrap_sub<T>(0, v) : v; });
    case UnaryOp::kNeg: return map(x, y, n, [](T v) { return wrap_sub<T>(0, v); });
    case UnaryOp::kSign: return map(x, y, n, [](T v) { return T(v > 0 ? 1 : v < 0 ? -1 : 0); });
    default: return map(x, y, n, [](T v) { return v; });  // not offered for integers by the op
  }
}

void broadcast_copy(const BroadcastParams& p, const void* x, void* y, size_t element_size) {
  const int64_t sx = inner_stride(p, 0);
  auto* dst = static_cast<std::byte*>(y);
  const auto* src = static_cast<const std::byte*>(x);
  for_each_run(p, [&](const std::array<int64_t, 3>& off, int64_t o, int64_t n) {
    std::byte* d = dst + o * static_cast<int64_t>(element_size);
    const std::byte* s = src + off[0] * static_cast<int64_t>(element_size);
    if (sx == 1) {
      std::memcpy(d, s, static_cast<size_t>(n) * element_size);
    } else {
      for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * static_cast<int64_t>(element_size), s, element_size);
    }
  });
}

template <typename T>
void scale(T* y, int64_t n, double factor) {
  const T f = static_cast<T>(factor);
  for (int64_t i = 0; i < n; ++i) y[i] *= f;
}

template <typename T>
void mod(const BroadcastParams& p, const T* a, const T* b, T* y, bool fmod) {
  if constexpr (std::is_floating_point_v<T>) {
    (void)fmod;  // floats always take fmod (checked by the op)
    broadcast_binary(p, a, b, y, [](T x, T z) { return std::fmod(x, z); });
  } else {
    broadcast_binary(p, a, b, y, [fmod](T x, T z) -> T {
      if (z == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (z == -1) return 0;  // also keeps the minimum % -1 from overflowing
      }
      T r = static_cast<T>(x % z);
      if constexpr (std::is_signed_v<T>) {
        if (!fmod && r != 0 && ((r < 0) != (z < 0))) r = static_cast<T>(r + z);
      }
      return r;
    });
  }
}

void mod_f16(const BroadcastParams& p, const uint16_t* a, const uint16_t* b, uint16_t* y) {
  broadcast_binary(p, a, b, y, [](uint16_t x, uint16_t z) {
    return float_to_half(std::fmod(half_to_float(x), half_to_float(z)));
  });
}

void scale_f16(uint16_t* y, int64_t n, double factor) {
  const float f = static_cast<float>(factor);
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_half(half_to_float(y[i]) * f);
}

#define QS_BINARY_TYPES(X) \
  X(float) X(double) X(int8_t) X(uint8_t) X(int16_t) X(uint16_t) X(int32_t) X(uint32_t) X(int64_t) X(uint64_t)
#define QS_INST_BINARY(T)                                                                      \
  template void binary<T>(BinaryOp, const BroadcastParams&, const T*, const T*, T*);          \
  template void mod<T>(const BroadcastParams&, const T*, const T*, T*, bool);                  \
  template void compare<T>(CompareOp, const BroadcastParams&, const T*, const T*, bool*);
QS_BINARY_TYPES(QS_INST_BINARY)

#define QS_INST_POW(TE)                                                                         \
  template void pow<float, TE>(const BroadcastParams&, const float*, const TE*, float*);       \
  template void pow<double, TE>(const BroadcastParams&, const double*, const TE*, double*);    \
  template void pow<int32_t, TE>(const BroadcastParams&, const int32_t*, const TE*, int32_t*); \
  template void pow<int64_t, TE>(const BroadcastParams&, const int64_t*, const TE*, int64_t*);
QS_BINARY_TYPES(QS_INST_POW)

template void unary<float>(UnaryOp, const float*, float*, int64_t);
template void unary<double>(UnaryOp, const double*, double*, int64_t);
template void unary_int<int8_t>(UnaryOp, const int8_t*, int8_t*, int64_t);
template void unary_int<int16_t>(UnaryOp, const int16_t*, int16_t*, int64_t);
template void unary_int<int32_t>(UnaryOp, const int32_t*, int32_t*, int64_t);
template void unary_int<int64_t>(UnaryOp, const int64_t*, int64_t*, int64_t);
template void scale<float>(float*, int64_t, double);
template void scale<double>(double*, int64_t, double);

// ---- Cast ---------------------------------------------------------------------------------

namespace {

struct Half {};  // tag: float16 stored as uint16_t bits

template <typename T> struct Storage { using type = T; };
template <> struct Storage<Half> { using type = uint16_t; };
template <> struct Storage<bool> { using type = uint8_t; };  // read bytes: any non-zero is true

template <typename To, typename From>
typename Storage<To>::type convert(typename Storage<From>::type v) {
  using S = typename Storage<To>::type;
  constexpr bool from_float = std::is_floating_point_v<From> || std::is_same_v<From, Half>;
  if constexpr (std::is_same_v<From, Half>) {
    return convert<To, float>(half_to_float(v));
  } else if constexpr (std::is_same_v<To, Half>) {
    return float_to_half(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return static_cast<S>(v != 0);  // NaN != 0: true, as in numpy
  } else if constexpr (std::is_same_v<From, bool>) {
    return static_cast<S>(v != 0 ? 1 : 0);
  } else if constexpr (from_float && std::is_integral_v<To>) {
    return saturate<To>(static_cast<double>(v));
  } else {
    return static_cast<S>(v);  // int -> int wraps (C++20); anything -> float rounds
  }
}

template <typename From, typename To>
void cast_loop(const void* x, void* y, int64_t n) {
  const auto* src = static_cast<const typename Storage<From>::type*>(x);
  auto* dst = static_cast<typename Storage<To>::type*>(y);
  for (int64_t i = 0; i < n; ++i) dst[i] = convert<To, From>(src[i]);
}

template <typename F>
bool visit_cast_type(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32: f(float{}); return true;
    case DType::kFloat16: f(Half{}); return true;
    case DType::kFloat64: f(double{}); return true;
    case DType::kInt8: f(int8_t{}); return true;
    case DType::kUInt8: f(uint8_t{}); return true;
    case DType::kInt16: f(int16_t{}); return true;
    case DType::kInt32: f(int32_t{}); return true;
    case DType::kInt64: f(int64_t{}); return true;
    case DType::kBool: f(bool{}); return true;
    default: return false;
  }
}

}  // namespace

bool cast_supported(DType t) {
  return visit_cast_type(t, [](auto) {});
}

void cast(DType from, const void* x, DType to, void* y, int64_t n) {
  if (from == to) {
    std::memcpy(y, x, static_cast<size_t>(n) * dtype_size(from));
    return;
  }
  visit_cast_type(from, [&](auto f) {
    visit_cast_type(to, [&](auto t) { cast_loop<decltype(f), decltype(t)>(x, y, n); });
  });
}

}  // namespace qs::kernels::ref
