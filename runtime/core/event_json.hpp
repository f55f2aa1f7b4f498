// Events and run views as JSON: the one wire form of the event stream (docs/events.md), written
// to `--events` files and served to watchers. Included by the edges only.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "runtime/core/events.hpp"

namespace swarm {

/// {"prompt_tokens", "completion_tokens", "total_tokens", "calls"}.
boost::json::object to_json(const usage& u);

/// {"code", "message"}: the error's stable code name and its human context.
boost::json::object error_json(const caf::error& err);

/// The event as docs/events.md describes it: header fields always, the others when set.
boost::json::object to_json(const event& e);

/// The event as one line of JSON (no newline).
std::string to_json_line(const event& e);

/// Every member of the view: {"agent", "leaf", "state", "tasks", "round", "text", "error",
/// "usage", "busy_ms"} (fields that do not apply left out), in the view's order.
boost::json::array members_json(const run_view& v);

} // namespace swarm
