import Foundation

/// Reads training and evaluation text with errors that say what to fix.
public enum TextFile {
    /// The UTF-8 text of `path`; rejects missing, unreadable, empty and non-UTF-8 files.
    public static func read(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileFormatError("data file \(path) not found; check the path")
        }
        guard !isDirectory.boolValue else {
            throw FileFormatError("\(path) is a directory; give a text file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileFormatError("cannot read \(path); check its permissions")
        }
        guard !data.isEmpty else {
            throw FileFormatError("data file \(path) is empty; give a file with text in it")
        }
        // The standard library's validating decoder keeps a byte-order mark: the text is exactly the file.
        guard let text = String(validating: data, as: UTF8.self) else {
            throw FileFormatError(
                "\(path) is not valid UTF-8 text (first bad byte at offset \(firstInvalidUTF8Offset(data) ?? 0)); convert it to UTF-8 first (e.g. with iconv)")
        }
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
