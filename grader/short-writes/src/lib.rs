//! Makes every write to a socket *short*: each `send`, `sendto`, `write` or
//! `writev` on a socket accepts between 1 and N bytes and returns how many it
//! took, exactly as POSIX allows the kernel to.
//!
//! Why the grader needs this: on Linux a blocking TCP send copies the whole
//! buffer before returning unless a signal or a send timeout interrupts it.
//! On a quiet test machine that almost never happens, so a program that
//! ignores `write`'s return value would pass every test and then lose data in
//! production under load. Loaded with `LD_PRELOAD` into the learner's program,
//! this library makes the rare case happen on every call. The sockets stay
//! real; only how much each call accepts changes.
//!
//! It can also make sends *interrupted*: a blocking send that a signal
//! interrupts before it has sent anything fails with `EINTR`
//! (`ErrorKind::Interrupted`), and the caller is expected to retry. Like a
//! short write, that is rare on a quiet machine and common on a busy server
//! whose threads receive signals, so the library makes it happen on demand.
//!
//! Environment:
//! - `SOCKLINGS_SHORT_WRITES=N`: the most bytes one call accepts (default 7,
//!   or no shortening when only `SOCKLINGS_WRITE_EINTR` is set);
//! - `SOCKLINGS_SHORT_WRITES_SEED=S`: seed for the sizes, for replaying a run;
//! - `SOCKLINGS_WRITE_EINTR=1`: every other send on a *blocking* stream socket
//!   (the first, the third, ...) fails with `EINTR` without sending anything.
//!   Non-blocking sends never wait, so no signal can interrupt them: they are
//!   left alone.
//! - `SOCKLINGS_READ_EINTR=1`: the same for receiving: every other `recv`,
//!   `recvfrom`, `read` or `readv` on a *blocking* stream socket (the first,
//!   the third, ...) fails with `EINTR` without reading anything, as when a
//!   signal arrives while the call waits for data. Reads are never shortened.
//!
//! Files, pipes and terminals are left alone: only sockets are shortened.

// Only Linux is supported: elsewhere the library is empty and the tests
// that need it report themselves as skipped.
#[cfg(target_os = "linux")]
mod linux {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    type SendFn = unsafe extern "C" fn(libc::c_int, *const libc::c_void, libc::size_t, libc::c_int) -> libc::ssize_t;
    type SendToFn = unsafe extern "C" fn(
        libc::c_int,
        *const libc::c_void,
        libc::size_t,
        libc::c_int,
        *const libc::sockaddr,
        libc::socklen_t,
    ) -> libc::ssize_t;
    type WriteFn = unsafe extern "C" fn(libc::c_int, *const libc::c_void, libc::size_t) -> libc::ssize_t;
    type WritevFn = unsafe extern "C" fn(libc::c_int, *const libc::iovec, libc::c_int) -> libc::ssize_t;
    type RecvFn = unsafe extern "C" fn(libc::c_int, *mut libc::c_void, libc::size_t, libc::c_int) -> libc::ssize_t;
    type RecvFromFn = unsafe extern "C" fn(
        libc::c_int,
        *mut libc::c_void,
        libc::size_t,
        libc::c_int,
        *mut libc::sockaddr,
        *mut libc::socklen_t,
    ) -> libc::ssize_t;
    type ReadFn = unsafe extern "C" fn(libc::c_int, *mut libc::c_void, libc::size_t) -> libc::ssize_t;
    type ReadvFn = unsafe extern "C" fn(libc::c_int, *const libc::iovec, libc::c_int) -> libc::ssize_t;

    static REAL_SEND: AtomicUsize = AtomicUsize::new(0);
    static REAL_SENDTO: AtomicUsize = AtomicUsize::new(0);
    static REAL_WRITE: AtomicUsize = AtomicUsize::new(0);
    static REAL_WRITEV: AtomicUsize = AtomicUsize::new(0);
    static STATE: AtomicU64 = AtomicU64::new(0);
    static MAX: AtomicUsize = AtomicUsize::new(0);
    /// 0: not read yet; 1: no EINTR; 2: EINTR on every other blocking send.
    static EINTR_MODE: AtomicUsize = AtomicUsize::new(0);
    static EINTR_CALLS: AtomicUsize = AtomicUsize::new(0);
    static REAL_RECV: AtomicUsize = AtomicUsize::new(0);
    static REAL_RECVFROM: AtomicUsize = AtomicUsize::new(0);
    static REAL_READ: AtomicUsize = AtomicUsize::new(0);
    static REAL_READV: AtomicUsize = AtomicUsize::new(0);
    /// 0: not read yet; 1: no EINTR; 2: EINTR on every other blocking read.
    static READ_EINTR_MODE: AtomicUsize = AtomicUsize::new(0);
    static READ_EINTR_CALLS: AtomicUsize = AtomicUsize::new(0);

    /// Looks up the next definition of `name` (libc's), once.
    unsafe fn real(slot: &AtomicUsize, name: &'static [u8]) -> usize {
        let mut f = slot.load(Ordering::Relaxed);
        if f == 0 {
            f = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) } as usize;
            slot.store(f, Ordering::Relaxed);
        }
        f
    }

    fn env_number(name: &'static [u8]) -> Option<u64> {
        // getenv is fine here: the program does not change these variables.
        let p = unsafe { libc::getenv(name.as_ptr().cast()) };
        if p.is_null() {
            return None;
        }
        let s = unsafe { std::ffi::CStr::from_ptr(p) };
        s.to_str().ok()?.trim().parse().ok()
    }

    /// How many bytes this call may accept: 1..=max, from a xorshift sequence.
    fn allowance(len: usize) -> usize {
        let mut max = MAX.load(Ordering::Relaxed);
        if max == 0 {
            // Asked only for interruptions: sends are not shortened.
            let default = if eintr_enabled() || read_eintr_enabled() { u64::MAX } else { 7 };
            max = env_number(b"SOCKLINGS_SHORT_WRITES\0")
                .unwrap_or(default)
                .clamp(1, usize::MAX as u64) as usize;
            MAX.store(max, Ordering::Relaxed);
        }
        let mut x = STATE.load(Ordering::Relaxed);
        if x == 0 {
            x = env_number(b"SOCKLINGS_SHORT_WRITES_SEED\0").unwrap_or(0x9E37_79B9_7F4A_7C15) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        STATE.store(x, Ordering::Relaxed);
        len.min(1 + (x % max as u64) as usize)
    }

    fn eintr_enabled() -> bool {
        let mut mode = EINTR_MODE.load(Ordering::Relaxed);
        if mode == 0 {
            mode = if env_number(b"SOCKLINGS_WRITE_EINTR\0").unwrap_or(0) > 0 {
                2
            } else {
                1
            };
            EINTR_MODE.store(mode, Ordering::Relaxed);
        }
        mode == 2
    }

    /// Whether this send on stream socket `fd` is interrupted: with
    /// `SOCKLINGS_WRITE_EINTR` set, every other send that could block (the
    /// socket is blocking and `MSG_DONTWAIT` is not given) fails with EINTR,
    /// as if a signal had arrived before any byte was sent.
    fn interrupted(fd: libc::c_int, flags: libc::c_int) -> bool {
        if !eintr_enabled() || flags & libc::MSG_DONTWAIT != 0 {
            return false;
        }
        let status = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if status < 0 || status & libc::O_NONBLOCK != 0 {
            return false;
        }
        if !EINTR_CALLS.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            return false;
        }
        unsafe { *libc::__errno_location() = libc::EINTR };
        true
    }

    fn read_eintr_enabled() -> bool {
        let mut mode = READ_EINTR_MODE.load(Ordering::Relaxed);
        if mode == 0 {
            mode = if env_number(b"SOCKLINGS_READ_EINTR\0").unwrap_or(0) > 0 {
                2
            } else {
                1
            };
            READ_EINTR_MODE.store(mode, Ordering::Relaxed);
        }
        mode == 2
    }

    /// Whether this read on socket `fd` is interrupted: with
    /// `SOCKLINGS_READ_EINTR` set, every other read on a blocking stream
    /// socket (`MSG_DONTWAIT` not given) fails with EINTR, as if a signal
    /// had arrived while it waited, before any byte was read.
    fn read_interrupted(fd: libc::c_int, flags: libc::c_int) -> bool {
        if !read_eintr_enabled() || flags & libc::MSG_DONTWAIT != 0 {
            return false;
        }
        let status = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if status < 0 || status & libc::O_NONBLOCK != 0 || !is_socket(fd) || !is_stream(fd) {
            return false;
        }
        if !READ_EINTR_CALLS.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            return false;
        }
        unsafe { *libc::__errno_location() = libc::EINTR };
        true
    }

    /// # Safety
    /// Same contract as recv(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn recv(fd: libc::c_int, buf: *mut libc::c_void, len: libc::size_t, flags: libc::c_int) -> libc::ssize_t {
        let f: RecvFn = unsafe { std::mem::transmute(real(&REAL_RECV, b"recv\0")) };
        if read_interrupted(fd, flags) {
            return -1;
        }
        unsafe { f(fd, buf, len, flags) }
    }

    /// # Safety
    /// Same contract as recvfrom(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn recvfrom(
        fd: libc::c_int,
        buf: *mut libc::c_void,
        len: libc::size_t,
        flags: libc::c_int,
        addr: *mut libc::sockaddr,
        addrlen: *mut libc::socklen_t,
    ) -> libc::ssize_t {
        let f: RecvFromFn = unsafe { std::mem::transmute(real(&REAL_RECVFROM, b"recvfrom\0")) };
        if read_interrupted(fd, flags) {
            return -1;
        }
        unsafe { f(fd, buf, len, flags, addr, addrlen) }
    }

    /// # Safety
    /// Same contract as read(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn read(fd: libc::c_int, buf: *mut libc::c_void, len: libc::size_t) -> libc::ssize_t {
        let f: ReadFn = unsafe { std::mem::transmute(real(&REAL_READ, b"read\0")) };
        if read_interrupted(fd, 0) {
            return -1;
        }
        unsafe { f(fd, buf, len) }
    }

    /// # Safety
    /// Same contract as readv(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn readv(fd: libc::c_int, iov: *const libc::iovec, count: libc::c_int) -> libc::ssize_t {
        let f: ReadvFn = unsafe { std::mem::transmute(real(&REAL_READV, b"readv\0")) };
        if read_interrupted(fd, 0) {
            return -1;
        }
        unsafe { f(fd, iov, count) }
    }

    fn is_socket(fd: libc::c_int) -> bool {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        unsafe { libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK }
    }

    /// # Safety
    /// Same contract as send(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn send(fd: libc::c_int, buf: *const libc::c_void, len: libc::size_t, flags: libc::c_int) -> libc::ssize_t {
        let f: SendFn = unsafe { std::mem::transmute(real(&REAL_SEND, b"send\0")) };
        let stream = is_stream(fd);
        if stream && interrupted(fd, flags) {
            return -1;
        }
        let len = if stream { allowance(len) } else { len };
        unsafe { f(fd, buf, len, flags) }
    }

    /// # Safety
    /// Same contract as sendto(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn sendto(
        fd: libc::c_int,
        buf: *const libc::c_void,
        len: libc::size_t,
        flags: libc::c_int,
        addr: *const libc::sockaddr,
        addrlen: libc::socklen_t,
    ) -> libc::ssize_t {
        let f: SendToFn = unsafe { std::mem::transmute(real(&REAL_SENDTO, b"sendto\0")) };
        // A datagram is sent whole or not at all: only stream sockets are shortened.
        let stream = addr.is_null() && is_stream(fd);
        if stream && interrupted(fd, flags) {
            return -1;
        }
        let len = if stream { allowance(len) } else { len };
        unsafe { f(fd, buf, len, flags, addr, addrlen) }
    }

    /// # Safety
    /// Same contract as write(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn write(fd: libc::c_int, buf: *const libc::c_void, len: libc::size_t) -> libc::ssize_t {
        let f: WriteFn = unsafe { std::mem::transmute(real(&REAL_WRITE, b"write\0")) };
        let stream = is_socket(fd) && is_stream(fd);
        if stream && interrupted(fd, 0) {
            return -1;
        }
        let len = if stream { allowance(len) } else { len };
        unsafe { f(fd, buf, len) }
    }

    /// # Safety
    /// Same contract as writev(2).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn writev(fd: libc::c_int, iov: *const libc::iovec, count: libc::c_int) -> libc::ssize_t {
        let f: WritevFn = unsafe { std::mem::transmute(real(&REAL_WRITEV, b"writev\0")) };
        if count <= 0 || iov.is_null() || !(is_socket(fd) && is_stream(fd)) {
            return unsafe { f(fd, iov, count) };
        }
        if interrupted(fd, 0) {
            return -1;
        }
        // Send only a prefix of the first buffer: still a correct short write.
        let first = unsafe { *iov };
        let short = libc::iovec {
            iov_base: first.iov_base,
            iov_len: allowance(first.iov_len),
        };
        unsafe { f(fd, &short, 1) }
    }

    fn is_stream(fd: libc::c_int) -> bool {
        let mut kind: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let ok = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut kind as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        ok == 0 && kind == libc::SOCK_STREAM
    }
}
