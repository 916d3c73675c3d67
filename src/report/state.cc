#include "report/state.h"

#include "io/atomic_file.h"

namespace qs::report {

Status StateWriter::Write(const analysis::SweepResult& so_far) {
  if (head_.empty()) {
    nlohmann::ordered_json h;
    h["model"] = meta_.model;
    h["metric"] = std::string(analysis::metric_name(so_far.metric));
    h["mode"] = std::string(analysis::sweep_mode_name(so_far.mode));
    h["inputs"] = meta_.inputs;
    if (!meta_.calib.empty()) h["calib"] = meta_.calib;
    h["identity"] = identity_;
    h["complete"] = false;
    head_ = h.dump(1);  // "{\n ...\n}": the steps go before the closing "\n}"
    head_.resize(head_.size() - 2);
  }
  for (; written_ < so_far.steps.size(); ++written_)
    steps_ += (written_ ? ",\n  " : "\n  ") + step_to_json(so_far, written_).dump();
  // Without a disk flush each time: --resume is for a killed sweep.
  return io::write_file_atomic(path_, head_ + ",\n \"steps\": [" + steps_ + "\n ]\n}\n", false);
}

}  // namespace qs::report
