"""Service functions shared by the JSON API and the pages: validate-free, typed, one job each."""
