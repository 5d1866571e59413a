#include "bench/scratch_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace rotor::bench {

ScratchDir::ScratchDir(std::string_view prefix) {
  std::string tmpl = "/tmp/" + std::string(prefix) + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    status_ = Unavailable("mkdtemp " + tmpl + ": " + std::strerror(errno));
    return;
  }
  path_ = std::move(tmpl);
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  // A leftover directory is worth a line on stderr, not a failed run.
  if (ec) std::fprintf(stderr, "rotor_bench: cannot remove %s: %s\n", path_.c_str(), ec.message().c_str());
}

}  // namespace rotor::bench
