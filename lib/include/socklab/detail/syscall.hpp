// core (detail): the system-call seam — SOCKLAB_SYS(call) is ::call, or a test's fault injector.
#pragma once

// Why a macro and a second build, not a function table: production code keeps no
// mutable global and pays nothing (SOCKLAB_SYS(read) is plain ::read), while the
// seamed copies of the modules that tests/CMakeLists.txt builds with
// SOCKLAB_SYSCALL_SEAM defined (socklab_<module>_seamed, linked only by unit_seam)
// call socklab::test_seam::<call> instead. Those functions are defined by the test
// (tests/unit/seam_test.cpp): each follows a per-test fault script (EINTR, a short
// count, ENOBUFS, EMFILE...) and otherwise calls the real function. This is fmt's
// approach (FMT_POSIX_CALL and its test-posix-mock.h) for the same reason.
#ifdef SOCKLAB_SYSCALL_SEAM

#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

namespace socklab::test_seam {

/// Same signatures and errno conventions as the calls of the same name.
ssize_t read(int fd, void* buf, std::size_t count);
ssize_t write(int fd, const void* buf, std::size_t count);
ssize_t splice(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, std::size_t len,
               unsigned int flags);
ssize_t sendfile(int out_fd, int in_fd, off_t* offset, std::size_t count);
int poll(pollfd* fds, nfds_t nfds, int timeout);
int socket(int domain, int type, int protocol);
ssize_t sendto(int fd, const void* buf, std::size_t len, int flags, const sockaddr* to,
               socklen_t tolen);
ssize_t recvmsg(int fd, msghdr* msg, int flags);
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags);

}  // namespace socklab::test_seam

#define SOCKLAB_SYS(call) ::socklab::test_seam::call
#else
#define SOCKLAB_SYS(call) ::call
#endif
