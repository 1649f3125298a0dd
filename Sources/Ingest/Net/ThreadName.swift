import Glibc

/// The calling thread's name as /proc/PID/task/*/comm, `top -H` and `perf` show it.
public enum ThreadName {
    /// Names the calling thread (at most 15 bytes are kept). `pthread_setname_np` and `prctl` are
    /// not visible to Swift; the proc file does the same.
    public static func set(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = write(fd, bytes, bytes.count)
        close(fd)
    }
}
