"""The default configurations users run (survey settings, hazard rules, model recipes), installed as data."""
