// The sandbox's seccomp filter as classic BPF. Layout: architecture check, then one small block
// per rule ("if nr == X: verdict"), then allow. Arguments are read as their low 32 bits
// (little endian), which hold every flag and family value the rules test.
#include "actors/seccomp_filter.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "runtime/core/errc.hpp"

namespace swarm::actors {

namespace {

struct named_syscall {
  long nr;
  const char* name;
};

#define SWARM_SYSCALL(x)                                                                           \
  named_syscall {                                                                                  \
    SYS_##x, #x                                                                                    \
  }

// Kernel attack surface and ways out of the sandbox: tracing other processes, mounting,
// namespaces, modules, keyrings, BPF, and the like. None is needed by ordinary programs.
const named_syscall always_denied[] = {
    SWARM_SYSCALL(ptrace),
    SWARM_SYSCALL(process_vm_readv),
    SWARM_SYSCALL(process_vm_writev),
    SWARM_SYSCALL(pidfd_getfd),
    SWARM_SYSCALL(kcmp),
    SWARM_SYSCALL(mount),
    SWARM_SYSCALL(umount2),
    SWARM_SYSCALL(pivot_root),
    SWARM_SYSCALL(chroot),
    SWARM_SYSCALL(open_tree),
    SWARM_SYSCALL(move_mount),
    SWARM_SYSCALL(fsopen),
    SWARM_SYSCALL(fsconfig),
    SWARM_SYSCALL(fsmount),
    SWARM_SYSCALL(fspick),
    SWARM_SYSCALL(mount_setattr),
    SWARM_SYSCALL(unshare),
    SWARM_SYSCALL(setns),
    SWARM_SYSCALL(kexec_load),
    SWARM_SYSCALL(kexec_file_load),
    SWARM_SYSCALL(init_module),
    SWARM_SYSCALL(finit_module),
    SWARM_SYSCALL(delete_module),
    SWARM_SYSCALL(bpf),
    SWARM_SYSCALL(perf_event_open),
    SWARM_SYSCALL(userfaultfd),
    SWARM_SYSCALL(keyctl),
    SWARM_SYSCALL(add_key),
    SWARM_SYSCALL(request_key),
    SWARM_SYSCALL(io_uring_setup),
    SWARM_SYSCALL(io_uring_enter),
    SWARM_SYSCALL(io_uring_register),
    SWARM_SYSCALL(open_by_handle_at),
    SWARM_SYSCALL(name_to_handle_at),
    SWARM_SYSCALL(acct),
    SWARM_SYSCALL(swapon),
    SWARM_SYSCALL(swapoff),
    SWARM_SYSCALL(reboot),
    SWARM_SYSCALL(syslog),
    SWARM_SYSCALL(quotactl),
    SWARM_SYSCALL(lookup_dcookie),
    SWARM_SYSCALL(vhangup),
    SWARM_SYSCALL(settimeofday),
    SWARM_SYSCALL(clock_settime),
    SWARM_SYSCALL(clock_adjtime),
    SWARM_SYSCALL(adjtimex),
    SWARM_SYSCALL(iopl),
    SWARM_SYSCALL(ioperm),
    SWARM_SYSCALL(uselib),
};

#undef SWARM_SYSCALL

constexpr uint32_t x32_syscall_bit = 0x40000000;

constexpr uint32_t namespace_flags = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                     CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

constexpr uint32_t nr_offset = offsetof(struct seccomp_data, nr);
constexpr uint32_t arch_offset = offsetof(struct seccomp_data, arch);
constexpr uint32_t arg0_offset = offsetof(struct seccomp_data, args); // low half of args[0]

sock_filter stmt(uint16_t code, uint32_t k) {
  return sock_filter{code, 0, 0, k};
}

sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

constexpr uint32_t errno_verdict(int err) {
  return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(err) & SECCOMP_RET_DATA);
}

// Appends "if nr == `nr`: return `verdict`" (A holds nr before and after).
void deny(std::vector<sock_filter>& prog, long nr, uint32_t verdict) {
  prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
  prog.push_back(stmt(BPF_RET | BPF_K, verdict));
}

} // namespace

caf::expected<std::vector<sock_filter>> build_seccomp_filter(bool network) {
#if !defined(__x86_64__)
  (void)network;
  return make_error(errc::tool_unavailable,
                    "the sandbox's seccomp filter is only written for x86_64");
#else
  const uint32_t eperm = errno_verdict(EPERM);
  const uint32_t allow = SECCOMP_RET_ALLOW;
  std::vector<sock_filter> prog;
  // Architecture: anything but x86_64 (i386 via int 0x80) is killed outright.
  prog.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arch_offset));
  prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  prog.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  prog.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, nr_offset));
  // The x32 ABI shares AUDIT_ARCH_X86_64 but sets bit 30 of the number: kill it too.
  prog.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, x32_syscall_bit, 0, 1));
  prog.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  for (const auto& s : always_denied)
    deny(prog, s.nr, eperm);
  // clone3 passes its flags in memory, which BPF cannot read: ENOSYS makes libc use clone.
  deny(prog, SYS_clone3, errno_verdict(ENOSYS));
  // clone: no new namespaces.
  prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4));
  prog.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg0_offset));
  prog.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, namespace_flags, 0, 1));
  prog.push_back(stmt(BPF_RET | BPF_K, eperm));
  prog.push_back(stmt(BPF_RET | BPF_K, allow));
  // personality: only a query (0xffffffff) or plain PER_LINUX (0).
  prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_personality, 0, 5));
  prog.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg0_offset));
  prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0));
  prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 1, 0));
  prog.push_back(stmt(BPF_RET | BPF_K, eperm));
  prog.push_back(stmt(BPF_RET | BPF_K, allow));
  if (!network) {
    // socket: AF_UNIX only (local IPC such as Python's multiprocessing keeps working).
    prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 4));
    prog.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arg0_offset));
    prog.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1));
    prog.push_back(stmt(BPF_RET | BPF_K, allow));
    prog.push_back(stmt(BPF_RET | BPF_K, eperm));
  }
  prog.push_back(stmt(BPF_RET | BPF_K, allow));
  return prog;
#endif
}

std::vector<std::string> denied_syscalls() {
  std::vector<std::string> out;
  for (const auto& s : always_denied)
    out.emplace_back(s.name);
  return out;
}

} // namespace swarm::actors
