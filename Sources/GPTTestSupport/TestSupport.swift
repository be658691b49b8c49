import Foundation
import GPTTensor
import Testing

/// Records a test issue (at the caller's location) unless every pair satisfies
/// |a − b| ≤ absolute + relative · |b|. Names the first few mismatches.
public func expectClose(
    _ actual: [Float], _ expected: [Float], absolute: Float = 1e-5, relative: Float = 1e-4,
    _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var mismatches: [String] = []
    var worst: Float = 0
    for index in actual.indices {
        let difference = abs(actual[index] - expected[index])
        worst = max(worst, difference)
        if !(difference <= absolute + relative * abs(expected[index])) {
            if mismatches.count < 5 { mismatches.append("[\(index)] \(actual[index]) vs \(expected[index])") }
            else { break }
        }
    }
    if !mismatches.isEmpty {
        Issue.record(
            "\(label): values differ (max |Δ| \(worst)): \(mismatches.joined(separator: ", "))",
            sourceLocation: sourceLocation)
    }
}

/// Central finite differences of `loss` with respect to `values[index]` for each index.
/// With `skipKinks`, an index whose two one-sided differences disagree (the step
/// crossed a kink such as ReLU's) gives NaN, which `expectGradientMatches` ignores.
public func numericalGradient(
    of loss: () -> Double, perturbing values: UnsafeMutablePointer<Float>, indices: [Int], step: Float = 1e-2,
    skipKinks: Bool = false
) -> [Float] {
    indices.map { index in
        let original = values[index]
        let center = skipKinks ? loss() : 0
        values[index] = original + step
        let plus = loss()
        values[index] = original - step
        let minus = loss()
        values[index] = original
        if skipKinks && abs((plus - center) - (center - minus)) > 0.2 * abs(plus - minus) + 1e-6 {
            return .nan
        }
        return Float((plus - minus) / Double(2 * step))
    }
}

/// Checks an analytic gradient against finite differences: the relative error of the
/// whole vector ‖a − n‖ / (‖a‖ + ‖n‖) must be below `tolerance`. Numerical entries that are NaN
/// (kinks skipped by `numericalGradient`) are left out, but at least half must remain, and every
/// analytic entry must be finite.
public func expectGradientMatches(
    analytic: [Float], numerical: [Float], tolerance: Double = 1e-2, _ label: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard analytic.count == numerical.count, !analytic.isEmpty else {
        Issue.record("\(label): \(analytic.count) analytic vs \(numerical.count) numerical values", sourceLocation: sourceLocation)
        return
    }
    if let bad = analytic.firstIndex(where: { !$0.isFinite }) {
        Issue.record("\(label): analytic gradient [\(bad)] is \(analytic[bad])", sourceLocation: sourceLocation)
    }
    let checked = numerical.filter { !$0.isNaN }.count
    if 2 * checked < numerical.count {
        Issue.record(
            "\(label): only \(checked) of \(numerical.count) finite differences could be checked", sourceLocation: sourceLocation)
    }
    var difference = 0.0, normA = 0.0, normN = 0.0
    for (a, n) in zip(analytic, numerical) where !n.isNaN {
        difference += Double((a - n) * (a - n))
        normA += Double(a * a)
        normN += Double(n * n)
    }
    let error = difference.squareRoot() / max(normA.squareRoot() + normN.squareRoot(), 1e-12)
    if !(error < tolerance) {
        Issue.record(
            "\(label): gradient relative error \(error) ≥ \(tolerance); analytic \(analytic.prefix(4)), numerical \(numerical.prefix(4))",
            sourceLocation: sourceLocation)
    }
}

/// Random values in [−scale, scale) from a seeded generator.
public func randomValues(_ count: Int, scale: Float = 1, seed: UInt64) -> [Float] {
    var generator = RandomGenerator(seed: seed)
    return (0..<count).map { _ in (generator.nextFloat() * 2 - 1) * scale }
}

/// The shared data folder beside the project root (`../shared/data`), if present.
public var sharedDataDirectory: URL {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("shared/data")
}

/// The project root (where Package.swift is).
public var projectRoot: URL {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url
}

/// A fresh empty temporary directory.
public func temporaryDirectory(_ name: String = "swift-gpt-test") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The Hugging Face GPT-2 fixture made by `Scripts/make_hf_fixture.py`.
public struct HuggingFaceFixture {
    public let directory: URL
    public let inputIds: [Int32]
    public let targets: [Int32]
    public let batch: Int
    public let length: Int
    public let loss: Float
    public let adamwLosses: [Float]
    public let adamw: [String: Double]

    public init() throws {
        directory = projectRoot.appendingPathComponent("Tests/GPTModelTests/Fixtures/gpt2-tiny")
        let data = try Data(contentsOf: directory.appendingPathComponent("expected.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let ids = object["input_ids"] as! [[Int]]
        batch = ids.count
        length = ids[0].count
        inputIds = ids.flatMap { $0 }.map(Int32.init)
        targets = (object["targets"] as! [[Int]]).flatMap { $0 }.map(Int32.init)
        loss = (object["loss"] as! NSNumber).floatValue
        adamwLosses = (object["adamw_losses"] as! [NSNumber]).map(\.floatValue)
        adamw = (object["adamw"] as! [String: NSNumber]).mapValues(\.doubleValue)
    }
}

/// The reference environment's Python (PyTorch, transformers, gguf), made in `.venv-reference/` by
/// `Scripts/install-dependencies.sh --with-test-tools`.
public var referencePython: URL { projectRoot.appendingPathComponent(".venv-reference/bin/python") }

/// Runs `Scripts/<script>` with the reference Python and `arguments`; its exit status, stdout and stderr.
public func runReferenceScript(
    _ script: String, _ arguments: [String], environment extra: [String: String] = [:]
) throws -> (status: Int32, output: Data, errors: String) {
    let process = Process()
    process.executableURL = referencePython
    process.arguments = [projectRoot.appendingPathComponent("Scripts/\(script)").path] + arguments
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    let complaints = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, printed, complaints)
}
