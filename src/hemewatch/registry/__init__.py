"""Everything that reads ClinicalTrials.gov data: the HTTP client, record parsing, bulk files, the scope."""
