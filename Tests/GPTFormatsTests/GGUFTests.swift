import Foundation
import GPTFormats
import GPTTestSupport
import Testing

/// The GGUF v3 container: a file written by the `gguf` package's reference writer reads back
/// exactly; ours round-trips; bad files are one clear error each.
@Suite struct GGUFTests {
    var fixture: URL { projectRoot.appendingPathComponent("Tests/GPTFormatsTests/Fixtures/reference.gguf") }

    /// `Scripts/make_gguf_fixture.py` (gguf 0.19.0's GGUFWriter): metadata of each type, F32, F16, Q8_0.
    @Test func readsTheReferenceWritersFile() throws {
        let file = try GGUFFile(contentsOf: fixture)
        #expect(file.version == 3)
        #expect(file.metadata["general.architecture"] == .string("gpt2"))
        #expect(file.metadata["general.name"] == .string("fixture"))
        #expect(file.metadata["fixture.uint32"] == .uint32(123_456))
        #expect(file.metadata["fixture.int32"] == .int32(-7))
        #expect(file.metadata["fixture.float32"] == .float32(0.25))
        #expect(file.metadata["fixture.bool"] == .bool(true))
        #expect(file.metadata["fixture.string"] == .string("héllo, wörld"))
        #expect(file.metadata["fixture.strings"] == .array([.string("a"), .string("bc"), .string("<|endoftext|>")]))
        #expect(file.metadata["fixture.ints"]?.array?.compactMap(\.integer) == [1, 2, 3])
        #expect(file.metadata["fixture.uint64"]?.integer == 1 << 40)
        #expect(file.tensors.map(\.name) == ["matrix", "half", "q8"])
        let matrix = try #require(file.tensor("matrix"))
        #expect(matrix.dimensions == [3, 2] && matrix.type == .f32)
        #expect(try file.floats("matrix") == [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
        #expect(try file.floats("half") == [1, -2, 0.5, 65504])
        let q8 = try #require(file.tensor("q8"))
        #expect(q8.type == .q8_0 && q8.dimensions == [32] && q8.byteRange.count == 34)
        #expect(q8.byteRange.lowerBound % 32 == 0)
    }

    func sample() -> GGUFWriter {
        var writer = GGUFWriter()
        writer.metadata = [
            ("general.architecture", .string("gpt2")), ("gpt2.block_count", .uint32(2)), ("x.f64", .float64(-1.5)),
            ("x.i64", .int64(-3)), ("x.u8", .uint8(7)), ("x.nested", .array([.array([.int16(1)]), .array([.int16(2), .int16(3)])])),
        ]
        writer.tensors = [
            .float32("a", dimensions: [3, 2], values: [1, 2, 3, 4, 5, 6]),
            GGUFWriter.Tensor(name: "h", dimensions: [2], type: .f16, bytes: [Float16(0.5), Float16(-4)].map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }),
            .float32("b", dimensions: [1], values: [-0.125]),
        ]
        return writer
    }

    @Test func ourFilesRoundTrip() throws {
        let url = temporaryDirectory().appendingPathComponent("ours.gguf")
        try sample().write(to: url)
        let file = try GGUFFile(contentsOf: url)
        #expect(file.metadata["gpt2.block_count"]?.integer == 2)
        #expect(file.metadata["x.f64"] == .float64(-1.5) && file.metadata["x.i64"] == .int64(-3) && file.metadata["x.u8"] == .uint8(7))
        #expect(file.metadata["x.nested"] == .array([.array([.int16(1)]), .array([.int16(2), .int16(3)])]))
        #expect(try file.floats("a") == [1, 2, 3, 4, 5, 6])
        #expect(try file.floats("h") == [0.5, -4])
        #expect(try file.floats("b") == [-0.125])
        #expect(file.tensors.allSatisfy { ($0.byteRange.lowerBound - file.tensors[0].byteRange.lowerBound) % 32 == 0 })
    }

    /// Wrong magic or version, truncation, absurd counts and lengths, overlapping or misaligned
    /// tensors, unknown types, data past the end: one error each, never a trap or a huge allocation.
    @Test func badFilesAreClearErrors() throws {
        let url = temporaryDirectory().appendingPathComponent("bad.gguf")
        try sample().write(to: url)
        let good = try Data(contentsOf: url)
        func expectError(_ data: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try GGUFFile(data: data, url: url)
                Issue.record("no error (expected \(fragment))", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
            }
        }
        func patched(_ offset: Int, _ value: UInt64, width: Int = 8) -> Data {
            var data = good
            withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(offset..<(offset + width), with: $0.prefix(width)) }
            return data
        }
        expectError(Data("GGUX".utf8) + good.dropFirst(4), "not a GGUF file")
        expectError(patched(4, 2, width: 4), "version 2")
        for length in [0, 10, 23, 40, good.count / 2, good.count - 1] { expectError(good.prefix(length), length < 24 ? "not a GGUF" : "truncated") }
        expectError(patched(8, 1 << 62), "claims")  // tensor count
        expectError(patched(16, UInt64.max), "claims")  // metadata count
        expectError(patched(24, 1 << 40), "claims")  // the first key's length
        // The tensor infos follow the metadata; find tensor "b"'s info and damage its fields.
        let name = Array("b".utf8)
        var position = 0
        for index in 0..<(good.count - 9) where good[index] == 1 && good[(index + 1)..<(index + 8)].allSatisfy({ $0 == 0 }) && good[index + 8] == name[0] {
            position = index + 9  // after the name
            break
        }
        #expect(position > 0)
        expectError(patched(position, 9, width: 4), "claims 9 dimensions")
        expectError(patched(position + 4, 1 << 50), "dimension")
        expectError(patched(position + 12, 99, width: 4), "ggml type 99")
        expectError(patched(position + 16, 1), "not a multiple of the alignment")
        expectError(patched(position + 16, 0), "overlap")
        expectError(patched(position + 16, UInt64(good.count - 64)), "past the end")
    }
}

/// Our GGUF files, read by llama.cpp's reference reader (the `gguf` package's GGUFReader, installed in
/// .venv-reference/ by `Scripts/install-dependencies.sh --with-test-tools`), via Scripts/check_gguf_read.py.
@Suite struct GGUFReferenceReaderTests {
    @Test func ourFilesReadInTheReferenceReader() throws {
        let python = referencePython
        try #require(
            FileManager.default.isExecutableFile(atPath: python.path),
            "no reference environment at \(python.path); run Scripts/install-dependencies.sh --with-test-tools")
        var writer = GGUFWriter()
        writer.metadata = [
            ("general.architecture", .string("gpt2")), ("gpt2.block_count", .uint32(2)), ("x.i32", .int32(-3)),
            ("x.f32", .float32(0.5)), ("x.bool", .bool(false)), ("x.u64", .uint64(1 << 40)),
            ("x.words", .array([.string("é"), .string("<|endoftext|>")])), ("x.ints", .array([.int32(4), .int32(-5)])),
        ]
        let matrix: [Float] = [1.5, -2, 3, 4, 5.25, -6]
        writer.tensors = [
            .float32("blk.0.attn_qkv.weight", dimensions: [3, 2], values: matrix),
            GGUFWriter.Tensor(name: "half", dimensions: [2], type: .f16, bytes: [Float16(0.5), Float16(-4)].map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }),
        ]
        let url = temporaryDirectory("gguf-reference").appendingPathComponent("ours.gguf")
        try writer.write(to: url)

        let (status, printed, complaints) = try runReferenceScript("check_gguf_read.py", [url.path])
        try #require(status == 0, "the reference reader refused our file: \(complaints)")
        let read = try JSONSerialization.jsonObject(with: printed) as! [String: Any]
        let metadata = read["metadata"] as! [String: Any]
        #expect(metadata["general.architecture"] as? String == "gpt2")
        #expect(metadata["gpt2.block_count"] as? Int == 2 && metadata["x.i32"] as? Int == -3)
        #expect(metadata["x.f32"] as? Double == 0.5 && metadata["x.bool"] as? Bool == false)
        #expect(metadata["x.u64"] as? Int == 1 << 40)
        #expect(metadata["x.words"] as? [String] == ["é", "<|endoftext|>"] && metadata["x.ints"] as? [Int] == [4, -5])
        let tensors = read["tensors"] as! [[String: Any]]
        #expect(tensors.map { $0["name"] as! String } == ["blk.0.attn_qkv.weight", "half"])
        #expect(tensors[0]["shape"] as? [Int] == [3, 2] && tensors[0]["type"] as? String == "F32")
        #expect((tensors[0]["values"] as! [Double]).map(Float.init) == matrix)
        #expect(tensors[1]["type"] as? String == "F16" && tensors[1]["values"] as? [Double] == [0.5, -4])
    }
}
