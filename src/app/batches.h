// Calibration and ranking data in batches: the files that --data names (.npy, .pb, images,
// folders, name=FILE), split into samples along the batch axis and regrouped into batches,
// read one file at a time so that memory does not grow with the amount of data.
//
// A model input whose first dimension is dynamic takes samples of one row: a file [N,...]
// holds N samples, and a batch stacks up to `batch` of them. A fixed first dimension k takes
// k rows per run (a file [m*k,...] holds m samples) and one sample per batch. Without a
// declared shape, a file is one sample. A model input given one sample reuses it in every
// batch; the others must give the same number of samples.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "app/inputs.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace qs::app {

struct Batch {
  std::map<std::string, Tensor> tensors;  // one value per model input
  std::vector<std::string> labels;        // one per sample: the file stem, or stem[i] inside a file of several
};

class BatchReader {
 public:
  // Lists the files and counts their samples (reads .npy and .pb files once; images are one
  // sample each). Errors name the file.
  static Expected<BatchReader> Open(const ir::Graph& g, const std::vector<std::string>& specs, const InputOptions& opt,
                                    int64_t batch);

  int64_t samples() const { return samples_; }
  int64_t batches() const { return batch_ > 0 ? (samples_ + batch_ - 1) / batch_ : 0; }
  int64_t batch_size() const { return batch_; }
  // The next batch, or false after the last one.
  Expected<bool> Next(Batch* out);

  struct File {
    std::string path;
    int64_t samples = 1;
  };
  struct Source {  // one model input
    ir::ValueInfo input;
    std::vector<File> files;
    int64_t unit_rows = 0;  // rows of the file tensor per sample; 0: the whole file is one sample
    int64_t samples = 0;
    // reading position
    size_t file = 0;
    int64_t sample_in_file = 0;
    Tensor loaded;          // the current file's tensor
    Shape sample_shape;     // the first sample's shape (for consistency checks)
  };

 private:
  Expected<Tensor> Take(Source& s, int64_t count, std::vector<std::string>* labels);
  Expected<Tensor> Load(Source& s, const File& f);
  InputOptions opt_;
  std::vector<Source> sources_;
  int64_t batch_ = 1;
  int64_t samples_ = 0;
  int64_t done_ = 0;
};

}  // namespace qs::app
