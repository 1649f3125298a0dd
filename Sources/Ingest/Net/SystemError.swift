import Glibc

/// Readable text for an errno value.
public enum SystemError {
    public static func message(_ code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }
}
