#include "kernels/fast/layout.h"

#include <algorithm>
#include <cstring>

#include "kernels/fast/eltwise_fast.h"  // parallel_chunks

// The 16 x 16 register transpose is AVX-512 code picked at run time; builds without target
// clones (the fuzz build) keep the plain loops only.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(QS_NO_TARGET_CLONES)
#define QS_LAYOUT_AVX512 1
#include <immintrin.h>
#else
#define QS_LAYOUT_AVX512 0
#endif

namespace qs::kernels::fast {
namespace {

constexpr int64_t kTile = 16;
// Source rows per work item: an item transposes a kTile-column strip of up to kRowChunk rows, so
// even a matrix with few columns (c = 21 channels of a segmentation map) splits over threads.
constexpr int64_t kRowChunk = 512;
// Elements a work item moves at least (when the matrix is that large).
constexpr int64_t kMinItem = 4096;
// Same threshold as the element-wise kernels (eltwise_fast.cc): copies below this many elements
// per thread are not worth waking another thread.
constexpr int64_t kMinPerThread = 128 * 1024;

// dst[j * dst_ld + i] = src[i * src_ld + j] for i < rows, j < cols; the longer side innermost,
// so that one of the two streams is contiguous over the longer run.
void transpose_plain(const float* src, int64_t src_ld, float* dst, int64_t dst_ld, int64_t rows, int64_t cols) {
  if (rows >= cols) {
    for (int64_t j = 0; j < cols; ++j) {
      const float* s = src + j;
      float* d = dst + j * dst_ld;
      for (int64_t i = 0; i < rows; ++i) d[i] = s[i * src_ld];
    }
  } else {
    for (int64_t i = 0; i < rows; ++i) {
      const float* s = src + i * src_ld;
      float* d = dst + i;
      for (int64_t j = 0; j < cols; ++j) d[j * dst_ld] = s[j];
    }
  }
}

#if QS_LAYOUT_AVX512
// GCC 12 warns about _mm512_undefined_ps() inside its own unpack intrinsics (a false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
__attribute__((target("avx512f"))) void transpose16_avx512(const float* src, int64_t src_ld, float* dst,
                                                             int64_t dst_ld) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * src_ld);
  // Interleave pairs of rows (32-bit elements), then pairs of pairs (64-bit), then 128-bit lanes twice.
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * dst_ld, r[i]);
}
#pragma GCC diagnostic pop

bool have_avx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return yes;
}
#endif

// One work item: rows [i0, i0 + rows) and columns [j0, j0 + cols) of one batch item's matrix.
void transpose_block(bool avx512, const float* src, int64_t src_ld, float* dst, int64_t dst_ld, int64_t i0,
                     int64_t rows, int64_t j0, int64_t cols) {
  const float* s = src + i0 * src_ld + j0;
  float* d = dst + j0 * dst_ld + i0;
#if QS_LAYOUT_AVX512
  if (avx512 && rows >= kTile) {
    int64_t j = 0;
    for (; j + kTile <= cols; j += kTile) {
      int64_t i = 0;
      for (; i + kTile <= rows; i += kTile) transpose16_avx512(s + i * src_ld + j, src_ld, d + j * dst_ld + i, dst_ld);
      if (i < rows) transpose_plain(s + i * src_ld + j, src_ld, d + j * dst_ld + i, dst_ld, rows - i, kTile);
    }
    if (j < cols) transpose_plain(s + j, src_ld, d + j * dst_ld, dst_ld, rows, cols - j);
    return;
  }
#endif
  (void)avx512;
  transpose_plain(s, src_ld, d, dst_ld, rows, cols);
}

// Each of n matrices x[b] (rows x cols, row-major) transposed into y[b] (cols x rows).
void transpose_batched(int64_t n, int64_t rows, int64_t cols, const float* x, float* y) {
  if (n <= 0 || rows <= 0 || cols <= 0) return;
  const int64_t total = n * rows * cols;
  if (rows == 1 || cols == 1) {  // the same order either way
    parallel_chunks(total, kMinPerThread, [&](int64_t lo, int64_t hi) {
      std::memcpy(y + lo, x + lo, static_cast<size_t>(hi - lo) * sizeof(float));
    });
    return;
  }
  // Items: (b, row chunk ib, column strip jb), strips innermost so that consecutive items of a
  // thread read one chunk of x (contiguous when it spans all columns) before the next. Strips are
  // one tile wide, or wider for matrices of fewer rows than a tile (an image's 3 channels), so that
  // an item still moves a few thousand elements.
  const int64_t strip = rows >= kTile ? kTile : kTile * ((kMinItem / kTile + rows - 1) / rows);
  const int64_t strips = (cols + strip - 1) / strip;
  const int64_t chunk_rows = std::min(rows, kRowChunk);
  const int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  const int64_t items = n * strips * chunks;
  const int64_t item_size = std::max<int64_t>(1, total / items);
#if QS_LAYOUT_AVX512
  const bool avx512 = have_avx512();
#else
  const bool avx512 = false;
#endif
  parallel_chunks(items, std::max<int64_t>(1, kMinPerThread / item_size), [&](int64_t lo, int64_t hi) {
    for (int64_t it = lo; it < hi; ++it) {
      const int64_t b = it / (strips * chunks);
      const int64_t ib = (it / strips) % chunks;
      const int64_t jb = it % strips;
      const int64_t j0 = jb * strip, i0 = ib * chunk_rows;
      transpose_block(avx512, x + b * rows * cols, cols, y + b * rows * cols, rows, i0, std::min(chunk_rows, rows - i0),
                      j0, std::min(strip, cols - j0));
    }
  });
}

}  // namespace

void nchw_to_nhwc_f32(int64_t n, int64_t c, int64_t hw, const float* x, float* y) {
  transpose_batched(n, c, hw, x, y);
}

void nhwc_to_nchw_f32(int64_t n, int64_t c, int64_t hw, const float* x, float* y) {
  transpose_batched(n, hw, c, x, y);
}

namespace {

template <typename T>
void strided_row(const std::byte* src, std::byte* dst, int64_t n, int64_t stride) {
  const T* x = reinterpret_cast<const T*>(src);
  T* y = reinterpret_cast<T*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i * stride];
}

}  // namespace

void transpose(const void* x, void* y, const Shape& in_shape, const std::vector<int64_t>& perm, size_t elem_size) {
  const int64_t total = numel(in_shape);
  if (total == 0) return;
  const std::vector<int64_t> in_strides = dense_strides(in_shape);
  // Output axes (size, input stride), without axes of size 1, neighbours merged where the
  // input has them next to each other in the same order.
  std::vector<int64_t> size, stride;
  for (size_t i = 0; i < perm.size(); ++i) {
    const int64_t d = in_shape[static_cast<size_t>(perm[i])], st = in_strides[static_cast<size_t>(perm[i])];
    if (d == 1) continue;
    if (!size.empty() && stride.back() == st * d) {
      size.back() *= d;
      stride.back() = st;
    } else {
      size.push_back(d);
      stride.push_back(st);
    }
  }
  const auto* src = static_cast<const std::byte*>(x);
  auto* dst = static_cast<std::byte*>(y);
  const int64_t es = static_cast<int64_t>(elem_size);
  if (size.size() <= 1) {  // the identity order
    std::memcpy(dst, src, static_cast<size_t>(total * es));
    return;
  }
  const size_t rank = size.size();
  // A (batched) matrix transpose of 4-byte values, y[n][i][j] = x[n][j][i] (attention's K heads:
  // [N, T, H, D] -> [N, H, D, T] merges to that): 16 x 16 register tiles.
  if (elem_size == 4 && rank <= 3 && stride[rank - 2] == 1 && stride[rank - 1] == size[rank - 2] &&
      (rank == 2 || stride[0] == size[1] * size[2])) {
    transpose_batched(rank == 3 ? size[0] : 1, size[rank - 1], size[rank - 2], static_cast<const float*>(x),
                      static_cast<float*>(y));
    return;
  }
  const int64_t row = size.back(), row_stride = stride.back(), rows = total / row;
  std::vector<int64_t> idx(rank - 1, 0);
  int64_t off = 0;  // input element offset of the current row
  for (int64_t r = 0; r < rows; ++r) {
    std::byte* out = dst + r * row * es;
    const std::byte* in = src + off * es;
    if (row_stride == 1) {
      std::memcpy(out, in, static_cast<size_t>(row * es));
    } else {
      switch (elem_size) {
        case 1: strided_row<uint8_t>(in, out, row, row_stride); break;
        case 2: strided_row<uint16_t>(in, out, row, row_stride); break;
        case 4: strided_row<uint32_t>(in, out, row, row_stride); break;
        case 8: strided_row<uint64_t>(in, out, row, row_stride); break;
        default:
          for (int64_t i = 0; i < row; ++i) std::memcpy(out + i * es, in + i * row_stride * es, elem_size);
      }
    }
    // Odometer over the output axes before the last, tracking the input offset.
    for (size_t a = rank - 1; a-- > 0;) {
      off += stride[a];
      if (++idx[a] < size[a]) break;
      off -= stride[a] * size[a];
      idx[a] = 0;
    }
  }
}

}  // namespace qs::kernels::fast
