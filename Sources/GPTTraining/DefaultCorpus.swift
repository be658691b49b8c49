import GPTTensor

/// The built-in training text used when `gpt train` gets no `--data`: generated here
/// from a small seeded grammar (no copied text), so it is the same on every machine.
///
/// It mixes regularities a small model learns within a minute — spelling of a small
/// vocabulary, sentence templates, agreement, counting and sums that must add up — so
/// the loss visibly falls well below a unigram model's and samples look like the corpus.
public enum DefaultCorpus {
    static let names = ["tom", "ann", "ben", "eve", "max", "lily", "sam", "nora"]
    static let animals = ["cat", "dog", "fox", "owl", "bird", "frog", "horse", "mouse"]
    static let adjectives = ["little", "big", "red", "quiet", "happy", "old", "brave", "sleepy"]
    static let places = ["river", "garden", "hill", "forest", "market", "house", "bridge", "lake"]
    static let verbs = ["saw", "found", "followed", "helped", "watched", "called"]
    static let fruits = ["apples", "pears", "plums", "figs", "eggs", "cakes"]
    static let numbers = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

    /// About `characters` characters of text (default ≈ 200 kB), deterministic for a seed.
    public static func text(characters: Int = 200_000, seed: UInt64 = 2024) -> String {
        var generator = RandomGenerator(seed: seed)
        func pick(_ words: [String]) -> String { words[generator.nextInt(below: words.count)] }
        var text = ""
        text.reserveCapacity(characters + 200)
        while text.utf8.count < characters {
            let sentence: String
            switch generator.nextInt(below: 5) {
            case 0:
                sentence = "the \(pick(adjectives)) \(pick(animals)) \(pick(verbs)) a \(pick(adjectives)) \(pick(animals)) by the \(pick(places))."
            case 1:
                let name = pick(names)
                let first = generator.nextInt(below: 6)
                let second = generator.nextInt(below: 5)
                let fruit = pick(fruits)
                sentence = "\(name) had \(numbers[first]) \(fruit) and got \(numbers[second]) more, so \(name) had \(numbers[first + second]) \(fruit)."
            case 2:
                let start = generator.nextInt(below: 6)
                let length = 3 + generator.nextInt(below: 3)
                sentence = numbers[start..<(start + length)].joined(separator: ", ") + "."
            case 3:
                let name = pick(names)
                let other = pick(names)
                sentence = "\(name) went to the \(pick(places)) with \(other), and \(other) was \(pick(adjectives))."
            default:
                let a = generator.nextInt(below: 50)
                let b = generator.nextInt(below: 50)
                sentence = "\(a) + \(b) = \(a + b)."
            }
            text += sentence
            text += generator.nextInt(below: 4) == 0 ? "\n\n" : "\n"
        }
        return text
    }
}
