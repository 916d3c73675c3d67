// Turning --input/--data arguments into model input tensors: .npy, ONNX TensorProto .pb and
// images, folders (all such files in sorted order) and name=FILE bindings.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "io/image.h"
#include "ir/graph.h"

namespace qs::app {

struct InputOptions {
  io::ImageOptions image;       // preprocessing for image files
  bool size_given = false;      // --size given; otherwise images take the model input's H and W when fixed
  bool channels_given = false;  // --channels given; otherwise 1 channel -> gray, 3 -> rgb
};

// One set of tensors for one run: a value for every model input.
struct InputSet {
  std::string stem;  // file stem of the first input file, names the run's output folder
  std::map<std::string, Tensor> tensors;
};

// Files an input spec names: the file itself, or a folder's readable files in sorted order.
Expected<std::vector<std::string>> expand_input_path(const std::string& path);
// Reads one file for the given model input (extension picks the reader).
Expected<Tensor> read_input_file(const std::string& path, const ir::ValueInfo& input, const InputOptions& opt);
// Binds specs ("FILE", "DIR", "name=FILE") to model inputs: name=FILE to that input, unnamed
// specs to the only input or, with several, to the inputs in order; folders expand to their
// files. `what` names the specs in messages ("inputs", "data").
Expected<std::map<std::string, std::vector<std::string>>> bind_input_files(const ir::Graph& g,
                                                                            const std::vector<std::string>& specs,
                                                                            const std::string& what);
// Resolves specs ("FILE", "DIR", "name=FILE") into input sets. Several files for one model
// input make several runs; an input given once is reused for every run.
Expected<std::vector<InputSet>> resolve_inputs(const ir::Graph& g, const std::vector<std::string>& specs,
                                               const InputOptions& opt);

// Output names made safe for file names: characters other than letters, digits, '.', '_' and
// '-' become '_'.
std::string sanitize_name(const std::string& name);

}  // namespace qs::app
