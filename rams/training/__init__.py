"""Training the detector's networks: labelled flights, chips and patches, augmentation, trainers.

Nothing on the survey's inference path imports this package.
"""
