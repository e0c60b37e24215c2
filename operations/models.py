"""Operations after launch (issue 11): filled in by the work on incidents, SLI actuals, failure
reviews and recertification."""
