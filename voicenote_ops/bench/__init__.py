"""`voicenote-ops bench`: scenarios on labs, their measurement, and the report."""
