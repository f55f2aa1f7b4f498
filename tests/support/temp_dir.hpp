// A fresh directory per test, removed afterwards; and a file written into it.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>

namespace swarm::test {

class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("swarm-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  /// The directory moves with it; the moved-from one removes nothing.
  temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  temp_dir& operator=(temp_dir&&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// Writes `text` to `name` inside the directory; returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::ofstream{p} << text;
    return p.string();
  }

private:
  std::filesystem::path path_;
};

} // namespace swarm::test
