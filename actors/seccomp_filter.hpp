// The seccomp filter every sandboxed program runs under, built as raw classic BPF (no
// libseccomp): foreign architectures are killed, dangerous syscalls fail with EPERM.
#pragma once

#include <linux/filter.h>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace swarm::actors {

/// Builds the filter program (one sock_filter per instruction) for this machine. Always denied
/// with EPERM: every syscall in denied_syscalls(), personality() other than a query or
/// PER_LINUX, clone() with namespace flags; clone3() answers ENOSYS (libc falls back to clone).
/// With `network` false, socket() of any family but AF_UNIX fails with EPERM. A syscall of a
/// foreign architecture (i386 `int 0x80`, x32) kills the process. Errors: tool_unavailable on
/// an architecture other than x86_64.
caf::expected<std::vector<sock_filter>> build_seccomp_filter(bool network);

/// Names of the syscalls the filter always denies with EPERM (docs/tools.md lists them).
std::vector<std::string> denied_syscalls();

} // namespace swarm::actors
