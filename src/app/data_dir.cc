#include "app/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace vontres::app {

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Result<DataDirLock> lock_data_dir(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return failed_precondition("cannot create data directory '" + data_dir + "': " + ec.message(), "data_dir_unusable");
  }
  std::filesystem::permissions(data_dir, std::filesystem::perms::others_all, std::filesystem::perm_options::remove, ec);
  std::string path = data_dir + "/vontres.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return failed_precondition("cannot open '" + path + "': " + std::strerror(errno), "data_dir_unusable");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return failed_precondition("data directory '" + data_dir + "' is in use by another vontres process",
                               "data_dir_locked");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto written = ::write(fd, pid.data(), pid.size());
  }
  return DataDirLock(fd);
}

}  // namespace vontres::app
