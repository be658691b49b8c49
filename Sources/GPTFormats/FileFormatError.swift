/// A problem with a file on disk, phrased for the user: what is wrong, with which
/// file, and what to do about it. Always one line.
public struct FileFormatError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
