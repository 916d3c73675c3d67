#include "onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace qs::onnx_io {

namespace fs = std::filesystem;

namespace {

template <typename Dst, typename Field>
Status copy_field(const Field& field, int64_t n, Tensor& t, const char* field_name) {
  if (static_cast<int64_t>(field.size()) != n)
    return InvalidInput("{} holds {} values, the shape {} needs {}", field_name, field.size(), shape_str(t.shape()), n);
  Dst* d = t.data<Dst>();
  for (int64_t i = 0; i < n; ++i) d[i] = static_cast<Dst>(field.Get(static_cast<int>(i)));
  return Status::Ok();
}

Status read_external(const onnx::TensorProto& tp, const std::string& base_dir, Tensor& t) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : tp.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      return InvalidInput("external data field '{}' is not a number: '{}'", kv.key(), kv.value());
    }
  }
  if (location.empty()) return InvalidInput("external data has no location");
  const fs::path rel(location);
  if (rel.is_absolute() || location.find("..") != std::string::npos)
    return InvalidInput("external data location '{}' must be a relative path inside the model's folder", location);
  const fs::path path = fs::path(base_dir) / rel;
  std::error_code ec;
  const auto fsize = fs::file_size(path, ec);
  if (ec) return IoError("cannot open external data file '{}'", path.string());
  const int64_t need = static_cast<int64_t>(t.nbytes());
  if (length >= 0 && length != need)
    return InvalidInput("external data length {} does not match the {} bytes of shape {}", length, need,
                        shape_str(t.shape()));
  if (offset < 0 || offset > static_cast<int64_t>(fsize) || static_cast<int64_t>(fsize) - offset < need)
    return InvalidInput("external data file '{}' ({} bytes) is too short for {} bytes at offset {}", path.string(),
                        fsize, need, offset);
  std::ifstream f(path, std::ios::binary);
  f.seekg(offset);
  f.read(static_cast<char*>(t.raw()), need);
  if (!f) return IoError("cannot read external data file '{}'", path.string());
  return Status::Ok();
}

}  // namespace

Expected<Tensor> tensor_from_proto(const onnx::TensorProto& tp, const std::string& base_dir) {
  const DType dt = dtype_from_onnx(tp.data_type());
  if (dt == DType::kUndefined) return Unsupported("element type {} is not supported", tp.data_type());
  if (tp.has_segment()) return Unsupported("segmented tensors are not supported");
  Shape shape(tp.dims().begin(), tp.dims().end());
  QS_ASSIGN_OR_RETURN(Tensor t, Tensor::Create(dt, shape));
  const int64_t n = t.numel();
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    QS_RETURN_IF_ERROR(read_external(tp, base_dir, t));
    return t;
  }
  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != t.nbytes())
      return InvalidInput("raw_data holds {} bytes, shape {} of {} needs {}", tp.raw_data().size(), shape_str(shape),
                          dtype_name(dt), t.nbytes());
    if (t.nbytes()) std::memcpy(t.raw(), tp.raw_data().data(), t.nbytes());
    return t;
  }
  Status st;
  switch (dt) {
    case DType::kFloat32: st = copy_field<float>(tp.float_data(), n, t, "float_data"); break;
    case DType::kFloat64: st = copy_field<double>(tp.double_data(), n, t, "double_data"); break;
    case DType::kInt64: st = copy_field<int64_t>(tp.int64_data(), n, t, "int64_data"); break;
    case DType::kUInt32: st = copy_field<uint32_t>(tp.uint64_data(), n, t, "uint64_data"); break;
    case DType::kUInt64: st = copy_field<uint64_t>(tp.uint64_data(), n, t, "uint64_data"); break;
    case DType::kInt32: st = copy_field<int32_t>(tp.int32_data(), n, t, "int32_data"); break;
    case DType::kInt16: st = copy_field<int16_t>(tp.int32_data(), n, t, "int32_data"); break;
    case DType::kUInt16: st = copy_field<uint16_t>(tp.int32_data(), n, t, "int32_data"); break;
    case DType::kFloat16: st = copy_field<uint16_t>(tp.int32_data(), n, t, "int32_data"); break;
    case DType::kInt8: st = copy_field<int8_t>(tp.int32_data(), n, t, "int32_data"); break;
    case DType::kUInt8: st = copy_field<uint8_t>(tp.int32_data(), n, t, "int32_data"); break;
    case DType::kBool: st = copy_field<bool>(tp.int32_data(), n, t, "int32_data"); break;
    case DType::kUndefined: break;
  }
  if (!st.ok()) return st;
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
  tp->Clear();
  tp->set_name(name);
  tp->set_data_type(static_cast<int>(t.dtype()));
  for (int64_t d : t.shape()) tp->add_dims(d);
  tp->set_raw_data(t.raw(), t.nbytes());
}

}  // namespace qs::onnx_io
