#include "app/batches.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "io/image.h"

namespace qs::app {

namespace fs = std::filesystem;

namespace {

std::string shape_of(const ir::ValueInfo& in) {
  std::string s = "[";
  for (size_t d = 0; d < in.dims.size(); ++d) {
    if (d) s += ",";
    s += in.dims[d] >= 0 ? std::to_string(in.dims[d])
                         : (d < in.dim_params.size() && !in.dim_params[d].empty() ? in.dim_params[d] : "?");
  }
  return s + "]";
}

// Which model input each spec feeds, as resolve_inputs binds them.
Expected<std::map<std::string, std::vector<std::string>>> files_per_input(const ir::Graph& g,
                                                                           const std::vector<std::string>& specs) {
  if (specs.empty()) return UsageError("no data given: pass --data FILE or FOLDER");
  QS_ASSIGN_OR_RETURN(auto files, bind_input_files(g, specs, "data"));
  for (const auto& in : g.inputs)
    if (!files.count(in.name)) return UsageError("no data given for model input '{}'", in.name);
  return files;
}

}  // namespace

Expected<Tensor> BatchReader::Load(Source& s, const File& f) {
  QS_ASSIGN_OR_RETURN(Tensor t, read_input_file(f.path, s.input, opt_));
  const ir::ValueInfo& in = s.input;
  if (t.dtype() != in.dtype)
    return InvalidInput("'{}' holds {} data, model input '{}' expects {}", f.path, dtype_name(t.dtype()), in.name,
                        dtype_name(in.dtype));
  if (in.has_shape) {
    bool fits = t.rank() == static_cast<int64_t>(in.dims.size());
    for (size_t d = 1; fits && d < in.dims.size(); ++d)
      if (in.dims[d] >= 0 && in.dims[d] != t.shape()[d]) fits = false;
    if (fits && s.unit_rows > 0 && t.dim(0) % s.unit_rows != 0) fits = false;
    if (!fits)
      return InvalidInput("'{}' has shape {}, model input '{}' expects {}", f.path, shape_str(t.shape()), in.name,
                          shape_of(in));
  }
  return t;
}

Expected<BatchReader> BatchReader::Open(const ir::Graph& g, const std::vector<std::string>& specs,
                                        const InputOptions& opt, int64_t batch) {
  if (batch < 1) return UsageError("--batch is {}, expected 1 or more", batch);
  BatchReader r;
  r.opt_ = opt;
  QS_ASSIGN_OR_RETURN(auto files, files_per_input(g, specs));
  for (const auto& in : g.inputs) {
    Source s;
    s.input = in;
    if (in.has_shape && !in.dims.empty()) s.unit_rows = in.dims[0] >= 0 ? in.dims[0] : 1;
    if (s.unit_rows == 0) return Unsupported("model input '{}' has a batch dimension of 0", in.name);
    for (const auto& path : files.at(in.name)) {
      File f{path, 1};
      if (s.unit_rows > 0 && !io::is_image_path(path)) {
        QS_ASSIGN_OR_RETURN(Tensor t, r.Load(s, f));
        f.samples = t.dim(0) / s.unit_rows;
        if (f.samples == 0) return InvalidInput("'{}' has shape {}: it holds no samples", path, shape_str(t.shape()));
      }
      s.samples += f.samples;
      s.files.push_back(f);
    }
    r.sources_.push_back(std::move(s));
  }
  if (r.sources_.empty()) return UsageError("the model has no inputs to calibrate");
  r.samples_ = 1;
  for (const auto& s : r.sources_) {
    if (s.samples == 1) continue;
    if (r.samples_ != 1 && r.samples_ != s.samples)
      return UsageError("model input '{}' has {} samples but another input has {}: give each input the same count, or one",
                        s.input.name, s.samples, r.samples_);
    r.samples_ = s.samples;
  }
  r.batch_ = batch;
  // A fixed batch dimension on any input forces one sample per run.
  for (const auto& s : r.sources_)
    if (!(s.input.has_shape && !s.input.dims.empty() && s.input.dims[0] < 0)) r.batch_ = 1;
  return r;
}

Expected<Tensor> BatchReader::Take(Source& s, int64_t count, std::vector<std::string>* labels) {
  if (s.samples == 1) {  // reused in every batch
    if (!s.loaded.defined()) { QS_ASSIGN_OR_RETURN(s.loaded, Load(s, s.files[0])); }
    if (labels) labels->push_back(fs::path(s.files[0].path).stem().string());
    if (count == 1 || s.unit_rows == 0) return s.loaded;
    labels = nullptr;
  }
  std::vector<Tensor> parts;
  std::vector<std::pair<int64_t, int64_t>> rows;  // per part: first row, row count
  int64_t need = count;
  while (need > 0) {
    if (s.samples == 1) {
      parts.push_back(s.loaded);
      rows.emplace_back(0, s.loaded.dim(0));
      --need;
      continue;
    }
    if (s.file >= s.files.size()) return InternalError("calibration data ran out before the counted samples");
    const File& f = s.files[s.file];
    if (!s.loaded.defined()) {
      QS_ASSIGN_OR_RETURN(s.loaded, Load(s, f));
      if (s.unit_rows > 0 && s.loaded.dim(0) / s.unit_rows != f.samples)
        return InvalidInput("'{}' changed while it was read", f.path);
      Shape sample = s.loaded.shape();
      if (s.unit_rows > 0) sample[0] = s.unit_rows;
      if (s.sample_shape.empty()) s.sample_shape = sample;
      if (sample != s.sample_shape)
        return InvalidInput("'{}' has samples of shape {}, earlier data for input '{}' has {}", f.path, shape_str(sample),
                            s.input.name, shape_str(s.sample_shape));
    }
    const int64_t take = std::min(need, f.samples - s.sample_in_file);
    if (s.unit_rows == 0) {
      parts.push_back(s.loaded);
      rows.emplace_back(0, 0);
    } else {
      parts.push_back(s.loaded);
      rows.emplace_back(s.sample_in_file * s.unit_rows, take * s.unit_rows);
    }
    if (labels) {
      const std::string stem = fs::path(f.path).stem().string();
      for (int64_t i = 0; i < take; ++i)
        labels->push_back(f.samples == 1 ? stem : stem + "[" + std::to_string(s.sample_in_file + i) + "]");
    }
    s.sample_in_file += take;
    need -= take;
    if (s.sample_in_file == f.samples) {
      ++s.file;
      s.sample_in_file = 0;
      s.loaded = Tensor();
    }
  }
  if (s.unit_rows == 0) return parts[0];  // a whole-file sample, one per batch
  // Stack the row ranges into one tensor.
  int64_t total = 0;
  for (const auto& r : rows) total += r.second;
  Shape shape = parts[0].shape();
  shape[0] = total;
  QS_ASSIGN_OR_RETURN(Tensor out, Tensor::Create(parts[0].dtype(), shape));
  size_t offset = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t row_bytes = parts[i].nbytes() / static_cast<size_t>(parts[i].dim(0));
    std::memcpy(static_cast<std::byte*>(out.raw()) + offset,
                static_cast<const std::byte*>(parts[i].raw()) + static_cast<size_t>(rows[i].first) * row_bytes,
                static_cast<size_t>(rows[i].second) * row_bytes);
    offset += static_cast<size_t>(rows[i].second) * row_bytes;
  }
  return out;
}

Expected<bool> BatchReader::Next(Batch* out) {
  if (done_ >= samples_) return false;
  const int64_t count = std::min(batch_, samples_ - done_);
  out->tensors.clear();
  out->labels.clear();
  bool labelled = false;
  for (auto& s : sources_) {
    const bool label_here = !labelled && (s.samples == samples_);
    QS_ASSIGN_OR_RETURN(Tensor t, Take(s, count, label_here ? &out->labels : nullptr));
    labelled |= label_here;
    out->tensors[s.input.name] = std::move(t);
  }
  done_ += count;
  return true;
}

}  // namespace qs::app
