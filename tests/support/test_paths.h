// Paths for tests: the source tree (fixtures, docs) and private scratch
// directories under /tmp. Thread-compatible.
#pragma once

#include <string>

namespace rotor::testing {

// SourceDir is $ROTOR_SOURCE_DIR (ctest sets it), else the tree this test
// binary was built from.
std::string SourceDir();

// ReadFile returns the bytes of the file at `path`; empty when it cannot be
// read (the test's assertions on the content then fail).
std::string ReadFile(const std::string& path);

// TempDir: a fresh /tmp/<prefix>-XXXXXX (mode 0700), removed with its
// contents on destruction. Aborts when /tmp is unusable.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "rotor-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace rotor::testing
