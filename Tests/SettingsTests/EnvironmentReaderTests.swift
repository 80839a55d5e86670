import Settings
import Testing

@Suite struct EnvironmentReaderTests {
    @Test("blank values count as unset; strings are trimmed, secrets kept as set")
    func blankIsUnset() {
        let reader = EnvironmentReader(["A": "  x ", "B": "", "C": "   ", "S": " pass word "])
        #expect(reader.string("A") == "x")
        #expect(reader.string("B") == nil)
        #expect(reader.string("C") == nil)
        #expect(reader.string("missing") == nil)
        #expect(reader.secret("S") == " pass word ")
        #expect(reader.secret("B") == nil)
    }

    @Test("numbers are range-checked and errors name the variable with a short excerpt")
    func typedValues() throws {
        let reader = EnvironmentReader(["N": "42", "BAD": "forty-two-and-a-very-long-tail", "F": "0.5", "T": "Yes", "X": "maybe"])
        #expect(try reader.integer("N", in: 1...100) == 42)
        #expect(try reader.integer("unset", in: 1...100) == nil)
        #expect(try reader.number("F", in: 0...1) == 0.5)
        #expect(try reader.boolean("T") == true)
        let error = #expect(throws: SettingError.self) { try reader.integer("BAD", in: 1...100) }
        #expect(error?.variable == "BAD")
        #expect(error?.description.hasPrefix("BAD must be an integer in 1...100") == true)
        #expect(error?.description.contains("long-tail") == false, "only a short prefix of the value is echoed")
        #expect(throws: SettingError.self) { try reader.integer("N", in: 1...10) }
        #expect(throws: SettingError.self) { try reader.boolean("X") }
    }

    @Test("prefixed variables are collected by the rest of their name")
    func prefixes() {
        let reader = EnvironmentReader(["P_A_B": "1", "P_": "ignored", "Q": "2"])
        #expect(reader.variables(withPrefix: "P_") == ["A_B": "1"])
    }
}

@Suite struct RedactionTests {
    @Test("secrets are replaced by the one marker, longest first")
    func scrub() {
        #expect(Redaction.marker == "***")
        #expect(Redaction.scrub("key=abc123 and abc", secrets: ["abc", "abc123", nil, ""]) == "key=*** and ***")
        #expect(Redaction.isSecretName("sasl.password") && Redaction.isSecretName("CDRA_LLM_API_KEY"))
        #expect(!Redaction.isSecretName("security.protocol"))
    }
}
