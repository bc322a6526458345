"""The jobs (survey, train, evaluate, hazards, synth, ...) as library functions over rams stages; installed as `rams.pipelines`, called by `rams.cli`."""
