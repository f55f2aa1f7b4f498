// Unit tests of the retry policy: what is retried and how long the client backs off.
#include <chrono>

#include <catch2/catch.hpp>

#include "net/retry.hpp"

using namespace std::chrono_literals;
using swarm::net::attempt_outcome;
using swarm::net::backoff_cap;
using swarm::net::backoff_delay;
using swarm::net::parse_retry_after;
using swarm::net::should_retry;

TEST_CASE("retry classification retries 429, 5xx, connect errors, timeouts and truncation") {
  for (int status : {429, 500, 502, 503, 504, 599}) {
    INFO("status " << status);
    CHECK(should_retry(attempt_outcome::http_status, status));
  }
  CHECK(should_retry(attempt_outcome::connect_failed));
  CHECK(should_retry(attempt_outcome::attempt_timeout));
  CHECK(should_retry(attempt_outcome::truncated));
}

TEST_CASE("retry classification never retries other 4xx, invalid JSON, TLS or cancellation") {
  for (int status : {400, 401, 403, 404, 408, 409, 413, 422, 301, 200}) {
    INFO("status " << status);
    CHECK_FALSE(should_retry(attempt_outcome::http_status, status));
  }
  CHECK_FALSE(should_retry(attempt_outcome::invalid_response));
  CHECK_FALSE(should_retry(attempt_outcome::tls_failed));
  CHECK_FALSE(should_retry(attempt_outcome::cancelled));
  CHECK_FALSE(should_retry(attempt_outcome::ok));
}

TEST_CASE("backoff cap grows exponentially from the base up to the maximum") {
  CHECK(backoff_cap(0, 200ms, 10s) == 200ms);
  CHECK(backoff_cap(1, 200ms, 10s) == 400ms);
  CHECK(backoff_cap(2, 200ms, 10s) == 800ms);
  CHECK(backoff_cap(5, 200ms, 10s) == 6400ms);
  CHECK(backoff_cap(6, 200ms, 10s) == 10s);
  CHECK(backoff_cap(4000000000u, 200ms, 10s) == 10s);
  CHECK(backoff_cap(3, 0ms, 10s) == 0ms);
}

TEST_CASE("backoff delay is full jitter and never above the cap") {
  for (uint32_t retry = 0; retry < 12; ++retry)
    for (double r : {0.0, 0.1, 0.5, 0.999, 1.0}) {
      auto d = backoff_delay(retry, 100ms, 2s, std::nullopt, r);
      CHECK(d >= 0ms);
      CHECK(d <= backoff_cap(retry, 100ms, 2s));
      CHECK(d <= 2s);
    }
  CHECK(backoff_delay(0, 100ms, 2s, std::nullopt, 0.0) == 0ms);
  CHECK(backoff_delay(3, 100ms, 2s, std::nullopt, 0.5) == 400ms);
}

TEST_CASE("backoff delay honours retry-after up to the maximum") {
  CHECK(backoff_delay(0, 100ms, 10s, 3s, 0.0) == 3s);
  CHECK(backoff_delay(0, 100ms, 10s, 3s, 0.9) == 3s);
  CHECK(backoff_delay(0, 100ms, 2s, 30s, 0.0) == 2s);
  CHECK(backoff_delay(6, 100ms, 10s, 10ms, 1.0) == 6400ms);
}

TEST_CASE("retry-after parses delta seconds and HTTP dates") {
  CHECK(parse_retry_after("2") == 2000ms);
  CHECK(parse_retry_after(" 0 ") == 0ms);
  CHECK(parse_retry_after("0.25") == 250ms);
  CHECK_FALSE(parse_retry_after(""));
  CHECK_FALSE(parse_retry_after("soon"));
  CHECK_FALSE(parse_retry_after("-1"));
  auto now = std::chrono::system_clock::from_time_t(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == 10s);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", now) == 0ms);
  CHECK_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:47 GMT", now));
}
