/// The score scale of every critique (DESIGN §6): the PRM's step, answer and final scores, and the
/// council moderator's node and step scores, which become the PRM's training targets. One text, so
/// that every prompt states the same bands.
public enum ScoreBands {
    /// The bands as a prompt states them.
    public static let promptText = """
        Scores run from -1.0 to 1.0: >= 0.9 exceptional, 0.7-0.89 strong, 0.4-0.69 surface-level, \
        0.1-0.39 no real inference, 0 irrelevant, negative = flawed, misaligned or harmful.
        """
}
