// RocksDB's info log for the memory database (memory/detail/info_log.hpp).
#include "memory/detail/info_log.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

namespace swarm::memory::detail {

namespace {

namespace fs = std::filesystem;

/// RocksDB's info log in `<dir>/LOG`, written with stdio. A line that cannot be written (full
/// disk) is dropped: RocksDB's own logger asserts on the line after a failed write in Debian's
/// build (assertions on), which would abort the process exactly when the disk fills up. Over
/// `max_log_bytes` the file becomes `LOG.old` and a new `LOG` starts (RocksDB's
/// `max_log_file_size` and `keep_log_file_num` apply only to its own logger), so a long run
/// keeps at most two logs.
class tolerant_logger : public rocksdb::Logger {
public:
  tolerant_logger(std::FILE* file, std::string dir)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), file_(file), dir_(std::move(dir)) {
    std::fseek(file_, 0, SEEK_END);
    size_ = std::max(std::ftell(file_), 0L);
  }
  ~tolerant_logger() override {
    if (file_ != nullptr)
      std::fclose(file_);
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto secs = system_clock::to_time_t(now);
    auto micros = duration_cast<microseconds>(now.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[40];
    std::strftime(stamp, sizeof(stamp), "%Y/%m/%d-%H:%M:%S", &tm);
    std::lock_guard guard{mtx_};
    if (size_ > max_log_bytes || file_ == nullptr) // full, or a failed open to try again
      rotate();
    if (file_ == nullptr)
      return;
    // Counted as written, not by ftell: a failing ftell (-1) would stop the rotation for good.
    auto head = std::fprintf(file_, "%s.%06lld ", stamp, static_cast<long long>(micros));
    auto body = std::vfprintf(file_, format, ap);
    std::fputc('\n', file_);
    std::fflush(file_);
    std::clearerr(file_);
    size_ += std::max(head, 0) + std::max(body, 0) + 1;
  }

private:
  void rotate() {
    if (file_ != nullptr)
      std::fclose(file_);
    std::error_code ec;
    fs::rename(fs::path{dir_} / "LOG", fs::path{dir_} / "LOG.old", ec);
    file_ = std::fopen((fs::path{dir_} / "LOG").c_str(), "a");
    size_ = 0;
  }

  std::FILE* file_;
  std::string dir_;
  long size_ = 0;
  std::mutex mtx_;
};

} // namespace

std::shared_ptr<rocksdb::Logger> make_logger(const std::string& dir) {
  auto log = fs::path{dir} / "LOG";
  std::error_code ec;
  if (fs::file_size(log, ec) > max_log_bytes && !ec)
    fs::rename(log, fs::path{dir} / "LOG.old", ec);
  auto* file = std::fopen(log.c_str(), "a");
  if (file == nullptr)
    return std::make_shared<null_logger>();
  return std::make_shared<tolerant_logger>(file, dir);
}

} // namespace swarm::memory::detail
