import Foundation

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
