import Foundation
import Mustache

/// How chat messages become one prompt: a Mustache template over `messages` (each with `role` and
/// `content`, plus `is_system`, `is_user`, `is_assistant`) and `add_generation_prompt`. The default is
/// ChatML, as llama.cpp falls back to for models without a template of their own.
public struct ChatTemplate: Sendable {
    /// ChatML: every message between `<|im_start|>ROLE` and `<|im_end|>`, then the assistant's turn.
    public static let chatML = """
        {{#messages}}<|im_start|>{{{role}}}
        {{{content}}}<|im_end|>
        {{/messages}}{{#add_generation_prompt}}<|im_start|>assistant
        {{/add_generation_prompt}}
        """

    public let source: String
    /// Generation stops at these (the end of the assistant's turn), besides the request's own.
    public let stopSequences: [String]
    private let template: MustacheTemplate

    public init(source: String = ChatTemplate.chatML, stopSequences: [String] = ["<|im_end|>"]) throws {
        self.source = source
        self.stopSequences = stopSequences
        do {
            template = try MustacheTemplate(string: source)
        } catch {
            throw ChatTemplateError("the chat template does not parse as Mustache: \(error)")
        }
    }

    /// Reads a template file (`--chat-template FILE`); its stop sequence is ChatML's when the file
    /// uses `<|im_end|>`, else none beyond the request's.
    public init(contentsOf url: URL) throws {
        let source: String
        do {
            source = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ChatTemplateError("cannot read the chat template \(url.path): \(error.localizedDescription)")
        }
        guard !source.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ChatTemplateError("the chat template \(url.path) is empty")
        }
        try self.init(source: source, stopSequences: source.contains("<|im_end|>") ? ["<|im_end|>"] : [])
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        let items: [[String: Any]] = messages.map { message in
            [
                "role": message.role, "content": message.content, "is_system": message.role == "system",
                "is_user": message.role == "user", "is_assistant": message.role == "assistant",
            ]
        }
        return template.render(["messages": items, "add_generation_prompt": addGenerationPrompt] as [String: Any])
    }
}

public struct ChatMessage: Sendable, Equatable {
    public let role: String
    public let content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

public struct ChatTemplateError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
