"""AWS STS on Strongroom's endpoint: GetCallerIdentity, GetSessionToken and AssumeRole (query with
XML answers, JSON 1.0)."""
