#include "app/inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "io/npy.h"
#include "io/wav.h"
#include "onnx/import.h"

namespace qs::app {

namespace fs = std::filesystem;

namespace {

std::string lower_ext(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

bool is_input_file(const std::string& path) {
  const std::string e = lower_ext(path);
  return e == ".npy" || e == ".pb" || e == ".wav" || io::is_image_path(path);
}

}  // namespace

std::string sanitize_name(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  if (s.empty() || s == "." || s == "..") s = "_" + s;
  return s;
}

Expected<std::vector<std::string>> expand_input_path(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return IoError("cannot open '{}': no such file or folder", path);
  if (!fs::is_directory(path, ec)) return std::vector<std::string>{path};
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_regular_file() && is_input_file(e.path().string())) files.push_back(e.path().string());
  }
  if (ec) return IoError("cannot list folder '{}': {}", path, ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return InvalidInput("folder '{}' holds no .npy, .pb, .wav or image files", path);
  return files;
}

Expected<Tensor> read_input_file(const std::string& path, const ir::ValueInfo& input, const InputOptions& opt) {
  const std::string e = lower_ext(path);
  Tensor t;
  if (e == ".npy") {
    QS_ASSIGN_OR_RETURN(t, io::read_npy(path));
  } else if (e == ".pb") {
    QS_ASSIGN_OR_RETURN(t, onnx_io::load_tensor_pb(path));
  } else if (e == ".wav") {
    QS_ASSIGN_OR_RETURN(t, io::read_wav(path));  // [channels, frames]
    // Mono audio for a [N, T] input is [1, T]; for [N, C, T], [1, C, T] (below).
    const int64_t rank = input.has_shape ? static_cast<int64_t>(input.dims.size()) : 0;
    if (rank == 2 && t.dim(0) == 1) t = t.Reshaped({1, t.dim(1)});
    if (rank == 1 && t.dim(0) == 1) t = t.Reshaped({t.dim(1)});
  } else if (io::is_image_path(path)) {
    io::ImageOptions io_opt = opt.image;
    const bool nchw = input.has_shape && input.dims.size() == 4;
    if (!opt.channels_given && nchw) {
      const int64_t c = input.dims[1];
      if (c == 1) io_opt.channels = io::ImageOptions::Channels::kGray;
      else if (c == 3) io_opt.channels = io::ImageOptions::Channels::kRgb;
    }
    if (!opt.size_given && nchw && input.dims[2] > 0 && input.dims[3] > 0) {
      io_opt.height = input.dims[2];
      io_opt.width = input.dims[3];
    }
    QS_ASSIGN_OR_RETURN(t, io::read_image(path, io_opt));
  } else {
    return InvalidInput("cannot read '{}': unknown input type '{}' (expected .npy, .pb, .wav, .png, .jpg or .pgm)", path, e);
  }
  // A file that lacks only the batch dimension gets a batch of one.
  if (input.has_shape && t.rank() + 1 == static_cast<int64_t>(input.dims.size())) {
    Shape s = t.shape();
    s.insert(s.begin(), 1);
    t = t.Reshaped(s);
  }
  return t;
}

Expected<std::map<std::string, std::vector<std::string>>> bind_input_files(const ir::Graph& g,
                                                                            const std::vector<std::string>& specs,
                                                                            const std::string& what) {
  std::map<std::string, std::vector<std::string>> files;  // model input -> files
  size_t positional = 0;
  for (const auto& spec : specs) {
    std::string name, path = spec;
    const auto eq = spec.find('=');
    if (eq != std::string::npos && g.find_input(spec.substr(0, eq))) {
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    } else if (eq != std::string::npos && !fs::exists(spec)) {
      return UsageError("'{}': the model has no input named '{}'", spec, spec.substr(0, eq));
    } else if (g.inputs.size() == 1) {
      name = g.inputs[0].name;
    } else {
      if (positional >= g.inputs.size())
        return UsageError("more unnamed {} than the model's {} inputs; bind them with name=FILE", what, g.inputs.size());
      name = g.inputs[positional++].name;
    }
    QS_ASSIGN_OR_RETURN(auto expanded, expand_input_path(path));
    auto& list = files[name];
    list.insert(list.end(), expanded.begin(), expanded.end());
  }
  return files;
}

Expected<std::vector<InputSet>> resolve_inputs(const ir::Graph& g, const std::vector<std::string>& specs,
                                               const InputOptions& opt) {
  if (g.inputs.empty()) return std::vector<InputSet>{InputSet{"run", {}}};
  if (specs.empty()) return UsageError("no input given: pass --input FILE (the model has {} input(s))", g.inputs.size());
  QS_ASSIGN_OR_RETURN(auto files, bind_input_files(g, specs, "inputs"));
  size_t runs = 1;
  for (const auto& in : g.inputs) {
    auto it = files.find(in.name);
    if (it == files.end()) return UsageError("no file given for model input '{}'", in.name);
    const size_t n = it->second.size();
    if (n == 1) continue;
    if (runs != 1 && runs != n)
      return UsageError("model input '{}' has {} files but another input has {}: give each input the same count, or one",
                        in.name, n, runs);
    runs = n;
  }
  std::vector<InputSet> sets;
  for (size_t r = 0; r < runs; ++r) {
    InputSet set;
    std::map<std::string, std::string> path_of;
    for (const auto& in : g.inputs) {
      const auto& list = files[in.name];
      const std::string& path = list[list.size() == 1 ? 0 : r];
      QS_ASSIGN_OR_RETURN(Tensor t, read_input_file(path, in, opt));
      if (set.stem.empty()) set.stem = fs::path(path).stem().string();
      set.tensors[in.name] = std::move(t);
      path_of[in.name] = path;
    }
    // A fixed batch dimension k takes k rows per run: a file of m*k rows makes m runs.
    int64_t split = 1;
    std::string split_by;
    for (const auto& in : g.inputs) {
      const Tensor& t = set.tensors[in.name];
      if (!in.has_shape || in.dims.empty() || in.dims[0] <= 0 || t.rank() != static_cast<int64_t>(in.dims.size()) ||
          t.dim(0) <= in.dims[0] || t.dim(0) % in.dims[0] != 0)
        continue;
      const int64_t m = t.dim(0) / in.dims[0];
      if (split != 1 && m != split)
        return UsageError("'{}' holds {} runs of model input '{}' (batch {}), but '{}' holds {}", path_of[in.name], m,
                          in.name, in.dims[0], path_of[split_by], split);
      split = m;
      split_by = in.name;
    }
    for (int64_t k = 0; k < split; ++k) {
      InputSet part;
      part.stem = split == 1 ? set.stem : set.stem + "_" + std::to_string(k);
      for (const auto& in : g.inputs) {
        const Tensor& t = set.tensors[in.name];
        if (split > 1 && t.rank() > 0 && t.dim(0) == split * in.dims[0]) {
          Shape rows = t.shape();
          rows[0] = in.dims[0];
          part.tensors[in.name] = t.Part(k * numel(rows), rows);
        } else {
          part.tensors[in.name] = t;
        }
        const Shape& shape = part.tensors[in.name].shape();
        if (in.has_shape && !in.fits(shape))
          return InvalidInput("'{}': input '{}' has shape {}, the model expects {}", path_of[in.name], in.name,
                              shape_str(shape), in.dims_str());
      }
      sets.push_back(std::move(part));
    }
  }
  return sets;
}

}  // namespace qs::app
