// ScratchDir: a fresh private directory under /tmp for one benchmark run,
// removed with everything below it on destruction.
//
// The benchmarks that touch disk (LMDB commits, file delivery) measure the
// filesystem of /tmp: fsync and syncfs costs are those of that device.
// Thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"

namespace rotor::bench {

class ScratchDir {
 public:
  // ScratchDir creates /tmp/<prefix>-XXXXXX (mode 0700, mkdtemp). On failure
  // status() says why and path() is empty.
  explicit ScratchDir(std::string_view prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  // Constant after construction.
  Status status_;
  std::string path_;
};

}  // namespace rotor::bench
