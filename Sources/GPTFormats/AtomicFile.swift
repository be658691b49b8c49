import Foundation

/// Writes files so that a reader sees either the old complete file or the new
/// complete file, never a partial one: write a temporary file beside the target,
/// flush it to disk, then rename it into place.
public enum AtomicFile {
    /// Writes the bytes produced by `body` (which calls `write` any number of times) to `url`.
    public static func write(
        to url: URL, _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw FileFormatError(
                "cannot write \(url.path): \(String(cString: strerror(errno))); choose a writable directory")
        }
        var closed = false
        defer {
            if !closed { close(descriptor) }
        }
        do {
            try body { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw FileFormatError(
                            "cannot write \(url.path): \(String(cString: strerror(errno))); check free disk space")
                    }
                    offset += written
                }
            }
            guard fsync(descriptor) == 0 else {
                throw FileFormatError("cannot flush \(url.path): \(String(cString: strerror(errno)))")
            }
            close(descriptor)
            closed = true
            guard rename(temporary.path, url.path) == 0 else {
                throw FileFormatError("cannot replace \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    /// Writes `data` to `url` atomically.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { write in
            try data.withUnsafeBytes { try write($0) }
        }
    }

    /// Creates `directory` (and its parents) if needed, with a clear error if that is impossible.
    public static func createDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw FileFormatError("\(directory.path) exists and is not a directory; choose another output path")
            }
            guard FileManager.default.isWritableFile(atPath: directory.path) else {
                throw FileFormatError("cannot write to \(directory.path): permission denied; choose a writable directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileFormatError("cannot create directory \(directory.path); choose a writable location")
        }
    }
}
