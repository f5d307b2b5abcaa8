// The data directory of one Vontres instance and its exclusive lock. `serve` holds the lock for its
// lifetime so two servers never share a SQLite file, and `restore` refuses to run while it is held.
#pragma once

#include <string>

#include "core/status.h"

namespace vontres::app {

class DataDirLock {
 public:
  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  friend Result<DataDirLock> lock_data_dir(const std::string& data_dir);
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Creates `data_dir` (mode 0750) if missing and takes `<data_dir>/vontres.lock` exclusively.
// Errors: "data_dir_unusable" (cannot create or open), "data_dir_locked" (another instance runs).
Result<DataDirLock> lock_data_dir(const std::string& data_dir);

}  // namespace vontres::app
