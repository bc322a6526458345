"""Survey campaigns: many drone flights merged into one set of layers, and their baseline."""
