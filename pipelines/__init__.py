"""The jobs (survey, train, evaluate, hazards, synth, ...) as library functions over rams stages.

Installed as `rams.pipelines`; the `rams` command (`rams.cli`) calls them.
"""
