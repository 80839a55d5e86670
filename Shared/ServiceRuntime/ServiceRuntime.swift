// ServiceRuntime module.
