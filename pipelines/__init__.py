"""End-to-end jobs (survey, train, evaluate, hazards) as dask graphs over rams stages, and the `rams` command."""
