import ArgumentParser
import DeepPref

extension CouncilBackendName: ExpressibleByArgument {}
