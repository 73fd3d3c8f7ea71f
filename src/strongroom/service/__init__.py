"""What every service shares: request context and caller kinds, dependencies, service descriptors."""
