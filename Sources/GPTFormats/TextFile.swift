import Foundation

/// Reads training, validation, evaluation and prompt text with errors that say what to fix.
///
/// A byte-order mark (U+FEFF) at the start of a file is not text: it is dropped, as Python's
/// `utf-8-sig` and most editors do (39 of the 41 Gutenberg books start with one). A U+FEFF
/// anywhere else stays an ordinary character.
public enum TextFile {
    /// The UTF-8 text of `path`; rejects missing, unreadable, empty and non-UTF-8 files. With
    /// `keepingByteOrderMark` the text is exactly the file (to compare with tools that read it so).
    public static func read(_ path: String, keepingByteOrderMark: Bool = false) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileFormatError("data file \(path) not found; check the path")
        }
        guard !isDirectory.boolValue else {
            throw FileFormatError("\(path) is a directory; give a text file")
        }
        let data = try bytes(of: path, limit: streamLimit)
        let text = try decode(data, source: path, keepingByteOrderMark: keepingByteOrderMark)
        guard !text.isEmpty else {
            throw FileFormatError("data file \(path) is empty; give a file with text in it")
        }
        return text
    }

    /// The most read from a stream (a pipe, process substitution, a device such as /dev/zero):
    /// it has no size to check first, so reading stops here with an error instead of filling memory.
    public static let streamLimit = 1 << 30

    /// The bytes of `path` ("-": standard input): a regular file whole, a stream up to `limit`
    /// bytes (more is an error naming the limit).
    public static func bytes(of path: String, limit: Int) throws -> Data {
        let attributes = path == "-" ? nil : try? FileManager.default.attributesOfItem(atPath: path)
        if attributes?[.type] as? FileAttributeType == .typeRegular {
            do {
                return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
            } catch {
                throw FileFormatError("cannot read \(path); check its permissions")
            }
        }
        // A stream: read in chunks, up to the limit.
        guard let handle = path == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: path) else {
            throw FileFormatError("cannot read \(path); check its permissions")
        }
        defer { if path != "-" { try? handle.close() } }
        var data = Data()
        do {
            while data.count <= limit, let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                data.append(chunk)
            }
        } catch {
            throw FileFormatError("cannot read \(path): \(error.localizedDescription)")
        }
        guard data.count <= limit else {
            throw FileFormatError("\(path) is a stream of more than \(limit >> 20) MiB; save the text to a file (or give less of it)")
        }
        return data
    }

    /// The UTF-8 text of `data` (a file's or standard input's) without a leading byte-order mark.
    public static func decode(_ data: Data, source: String, keepingByteOrderMark: Bool = false) throws -> String {
        guard var text = String(validating: data, as: UTF8.self) else {
            throw FileFormatError(
                "\(source) is not valid UTF-8 text (first bad byte at offset \(firstInvalidUTF8Offset(data) ?? 0)); convert it to UTF-8 first (e.g. with iconv)")
        }
        if !keepingByteOrderMark && text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
        return text
    }

    static func firstInvalidUTF8Offset(_ data: Data) -> Int? {
        var iterator = data.makeIterator()
        var decoder = UTF8()
        var offset = 0
        var consumed = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
                offset = consumed
            case .emptyInput:
                return nil
            case .error:
                return offset
            }
        }
    }
}
