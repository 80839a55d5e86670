import ArgumentParser
import Council

extension CouncilBackendName: ExpressibleByArgument {}
