// A TCP server on 127.0.0.1 (a free port) for tests of HTTP clients: it accepts connections one
// after the other and hands each, with the head of the request read from it, to the test's
// handler; it stops and joins its thread on destruction. Every wait in it is bounded.
#pragma once

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include <catch2/catch.hpp>

namespace swarm::test {

class loopback_server {
public:
  /// One accepted connection, open while the handler runs and closed after it returns.
  class connection {
  public:
    connection(const loopback_server& server, int fd) : server_(server), fd_(fd) {}

    /// The head of the request: up to its blank line, at most 64 KiB, or what came in 10 s.
    const std::string& request() const { return request_; }

    /// Writes `bytes` (a peer that went away is not an error here: the client's test says).
    void send(const std::string& bytes) const {
      ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }

    /// Keeps the connection open, answering nothing, until the server stops (at most 10 s).
    void hold() const {
      for (int i = 0; i < 1000 && !stopping(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }

    /// Whether the server is stopping: a handler that loops ends then.
    bool stopping() const { return server_.stop_.load(); }

  private:
    friend class loopback_server;

    void read_head() {
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos && request_.size() < 65536) {
        auto n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n <= 0)
          return;
        request_.append(buf, static_cast<size_t>(n));
      }
    }

    const loopback_server& server_;
    int fd_;
    std::string request_;
  };

  using handler = std::function<void(connection&)>;

  /// A handler for an endpoint that takes every request and never answers it.
  static handler silent() {
    return [](connection& c) { c.hold(); };
  }

  /// Listens on 127.0.0.1 on a port the kernel picks; `answer` runs for each connection.
  explicit loopback_server(handler answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { serve(); }};
  }

  /// Stops accepting, ends a handler waiting in hold() and joins.
  ~loopback_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR); // wakes accept()
    thread_.join();
    ::close(fd_);
  }

  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  uint16_t port() const { return port_; }

  /// Connections accepted so far.
  int connections() const { return connections_.load(); }

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        return;
      ++connections_;
      // A client that sends no full head is not waited for longer than 10 s.
      timeval limit{10, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
      connection conn{*this, c};
      conn.read_head();
      answer_(conn);
      ::close(c);
    }
  }

  handler answer_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_; // last: it starts once everything above is set
};

} // namespace swarm::test
