import ChatCompletions
import DeepPrefFormats
import Events
import Foundation

/// Input lines of `cdra council annotate`: only `question` is required.
///
/// A line is either a full ``QuerySubmitted`` (it has `query_id` and `profile`), or a small
/// object: `question` (string), optional `preference` (string, the stated preference), `topic`
/// (string), `id` (string or integer; default `<file name>-<line>`), `hidden_preferences` (list of
/// strings), `split`, `profile_id` and `risk_tolerance` (strings; what `cdra deeppref build`
/// writes). Other keys are ignored.
public enum CouncilBatchInput {
    public static func query(from record: JSONRecordReader.RawRecord, fileStem: String) throws -> QuerySubmitted {
        let object = record.object
        if object["query_id"] != nil && object["profile"] != nil {
            let query: QuerySubmitted
            do { query = try EventCodec.makeDecoder().decode(QuerySubmitted.self, from: record.bytes) }
            catch { throw SchemaViolation([EventCodec.describe(error)]) }
            let problems = query.validationProblems()
            if !problems.isEmpty { throw SchemaViolation(problems) }
            return query
        }
        let check = JSONFieldCheck()
        let question = check.string(object, "question", at: "$")
        let preference = check.optionalString(object, "preference", at: "$") ?? ""
        let topic = check.optionalString(object, "topic", at: "$")
        var id = "\(fileStem)-\(record.line)"
        if object["id"] != nil && !(object["id"] is NSNull) {
            if let given = JSONFieldCheck.identifier(object["id"]) { id = given } else { check.problem("$.id must be a string or an integer") }
        }
        let hidden = check.strings(object, "hidden_preferences", at: "$", required: false) ?? []
        let split = check.optionalString(object, "split", at: "$")
        let profileID = check.optionalString(object, "profile_id", at: "$") ?? "profile-" + id
        let riskTolerance = check.optionalString(object, "risk_tolerance", at: "$")
        guard check.problems.isEmpty, let question else { throw SchemaViolation(check.problems) }
        let query = QuerySubmitted(
            queryID: id, profile: UserProfile(profileID: profileID, statedPreference: preference, riskTolerance: riskTolerance),
            question: question, topic: topic, hiddenPreferences: hidden, split: split)
        let problems = query.validationProblems()
        if !problems.isEmpty { throw SchemaViolation(problems) }
        return query
    }
}
