import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Binary files (weights, GGUF) read through a memory map, with the errors every reader gives.
public enum MappedFile {
    /// The bytes of `url`: "not found; <advice>" when it is missing, "cannot read" when it cannot be mapped.
    public static func data(_ url: URL, missing advice: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FileFormatError("\(url.path) not found; \(advice)")
        }
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw FileFormatError("cannot read \(url.path); check its permissions")
        }
    }
}

/// Bytes that stay at one address for as long as the object lives: a file mapped read-only (pages
/// are read from disk when touched, shared with the page cache, never copied), or a copy of bytes
/// given in memory. Weights multiplied in place (a quantized GGUF's) point into one of these.
public final class MappedBytes: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    private let isMapped: Bool

    /// Maps `url` read-only; the errors name the file and what to do.
    public init(contentsOf url: URL, missing advice: String) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FileFormatError("\(url.path) not found; \(advice)")
        }
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { throw FileFormatError("cannot read \(url.path); check its permissions") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw FileFormatError("\(url.path) is not a regular file; give the model file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            count = 0
            isMapped = false
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw FileFormatError("cannot map \(url.path) into memory (\(size) bytes); check free address space")
        }
        base = UnsafeRawPointer(address)
        count = size
        isMapped = true
    }

    /// A stable copy of `data`.
    public init(copying data: Data) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { if let source = $0.baseAddress { memory.copyMemory(from: source, byteCount: data.count) } }
        base = UnsafeRawPointer(memory)
        count = data.count
        isMapped = false
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// Tells the system that the mapped pages inside `range` are not needed for now: they leave the
    /// process's resident memory and are read from the file again if touched (nothing for a copy).
    public func releasePages(_ range: Range<Int>) {
        guard isMapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = min(range.upperBound, count) / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// The bytes as Data, without copying (valid while this object lives).
    public var data: Data {
        Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: count, deallocator: .none)
    }
}
