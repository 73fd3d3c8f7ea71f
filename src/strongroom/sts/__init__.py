"""AWS STS on Strongroom's endpoint: GetCallerIdentity and GetSessionToken (query with XML answers, JSON 1.0)."""
