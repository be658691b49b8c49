import Foundation
import GPTFormats
import GPTTensor
import GPTTestSupport
import Testing

@Suite struct SafetensorsTests {
    func writeSample(to url: URL) throws -> ([Float], [Float]) {
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [-0.5, 0.25]
        try a.withUnsafeBufferPointer { a in
            try b.withUnsafeBufferPointer { b in
                try SafetensorsFile.write(
                    [TensorRecord(name: "a.weight", shape: [2, 3], values: a), TensorRecord(name: "b", shape: [2], values: b)],
                    to: url)
            }
        }
        return (a, b)
    }

    @Test func roundTripsNamesShapesValuesAndMetadata() throws {
        let url = temporaryDirectory().appendingPathComponent("t.safetensors")
        let (a, b) = try writeSample(to: url)
        let file = try SafetensorsFile(contentsOf: url)
        #expect(file.tensors["a.weight"]?.shape == [2, 3])
        #expect(try file.floats("a.weight") == a)
        #expect(try file.floats("b") == b)
        #expect(file.metadata == ["format": "pt"])
        // The header is padded to a multiple of 8 bytes.
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        #expect(headerLength % 8 == 0)
    }

    @Test func truncatedAndCorruptFilesAreClearErrors() throws {
        let directory = temporaryDirectory()
        let url = directory.appendingPathComponent("t.safetensors")
        _ = try writeSample(to: url)
        let data = try Data(contentsOf: url)
        let cases: [(String, Data)] = [
            ("truncated data", data.prefix(data.count - 4)),
            ("truncated header", data.prefix(20)),
            ("too short", data.prefix(5)),
            ("empty", Data()),
            ("garbage header", Data([16, 0, 0, 0, 0, 0, 0, 0]) + Data("not json at all!".utf8)),
            ("huge header length", Data([255, 255, 255, 255, 0, 0, 0, 0]) + Data(repeating: 0, count: 32)),
        ]
        for (label, bytes) in cases {
            let bad = directory.appendingPathComponent("\(label).safetensors")
            try bytes.write(to: bad)
            do {
                _ = try SafetensorsFile(contentsOf: bad)
                Issue.record("\(label): no error")
            } catch let error as FileFormatError {
                #expect(error.message.contains(bad.path), "\(label): \(error.message)")
                #expect(!error.message.contains("\n"))
            }
        }
        #expect(throws: FileFormatError.self) { try SafetensorsFile(contentsOf: directory.appendingPathComponent("missing")) }
    }
}

@Suite struct FileTests {
    @Test func atomicWriteReplacesWholeFilesAndLeavesNoTemporaries() throws {
        let directory = temporaryDirectory()
        let url = directory.appendingPathComponent("file.txt")
        try AtomicFile.write(Data("first".utf8), to: url)
        try AtomicFile.write(Data("second".utf8), to: url)
        #expect(String(decoding: try Data(contentsOf: url), as: UTF8.self) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["file.txt"])
        #expect(throws: FileFormatError.self) {
            try AtomicFile.write(Data("x".utf8), to: URL(fileURLWithPath: "/proc/swift-gpt-cannot-write/file"))
        }
    }

    @Test func textFileRejectsMissingEmptyAndNonUTF8() throws {
        let directory = temporaryDirectory()
        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let binary = directory.appendingPathComponent("latin1.txt")
        try Data([0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: binary)
        let good = directory.appendingPathComponent("good.txt")
        try Data("naïve café\n".utf8).write(to: good)
        #expect(try TextFile.read(good.path) == "naïve café\n")
        // A leading byte-order mark is dropped; one inside the text stays.
        let marked = directory.appendingPathComponent("bom.txt")
        try Data([0xEF, 0xBB, 0xBF] + Array("ab\u{FEFF}c".utf8)).write(to: marked)
        #expect(Array(try TextFile.read(marked.path).unicodeScalars) == Array("ab\u{FEFF}c".unicodeScalars))
        let onlyMark = directory.appendingPathComponent("only-bom.txt")
        try Data([0xEF, 0xBB, 0xBF]).write(to: onlyMark)
        for (path, fragment) in [
            (directory.appendingPathComponent("missing.txt").path, "not found"), (empty.path, "is empty"),
            (onlyMark.path, "is empty"),
            (binary.path, "offset 3"), (directory.path, "is a directory"),
        ] {
            do {
                _ = try TextFile.read(path)
                Issue.record("\(path): no error")
            } catch let error as FileFormatError {
                #expect(error.message.contains(fragment), "\(error.message)")
            }
        }
    }
}
