import ArgumentParser
import Foundation
import GPTEmbeddings
import GPTFormats
import GPTVisualization

struct Visualize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "viz", abstract: "Pictures: word vectors projected to the plane.", subcommands: [VisualizeWords.self])
}

struct VisualizeWords: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "words",
        abstract: "Word vectors projected onto their first two principal components, as SVG or HTML.")

    @Option(help: "Vector file (word2vec text or binary).") var vectors: String
    @Option(help: "Comma-separated words, e.g. king,queen,man,woman.") var words: String
    @Option(help: "Output .svg or .html file.") var out: String

    func run() throws {
        let loaded = try WordVectors.read(from: vectors)
        let list = words.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard list.count >= 2 else { throw ValidationError("--words needs at least two words, comma-separated") }
        for word in list where !loaded.contains(word) {
            throw ValidationError("'\(word)' is not in \(vectors) (\(loaded.words.count) words)")
        }
        let points = list.map { Array(loaded.vector($0)!) }
        let pca = PrincipalComponents(points: points, components: 2)
        let total = pca.variances.reduce(0, +)
        func share(_ index: Int) -> String {
            index < pca.variances.count && total > 0 ? String(format: " (%.0f%% of the pair's variance)", 100 * pca.variances[index] / total) : ""
        }
        let plot = ScatterPlot(
            title: "Word vectors: \(URL(fileURLWithPath: vectors).lastPathComponent)",
            xLabel: "principal component 1" + share(0), yLabel: "principal component 2" + share(1),
            points: zip(list, pca.projections).map { word, projection in
                let nearest = (try? loaded.similar(to: word, top: 3).map(\.word).joined(separator: ", ")) ?? ""
                return ScatterPlot.Point(x: projection[0], y: projection.count > 1 ? projection[1] : 0, label: word, detail: "nearest: \(nearest)")
            })
        let text = out.lowercased().hasSuffix(".html") ? plot.html() : plot.svg()
        guard out.lowercased().hasSuffix(".svg") || out.lowercased().hasSuffix(".html") else {
            throw ValidationError("--out must end in .svg or .html")
        }
        try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: out))
        print("wrote \(out)")
    }
}
