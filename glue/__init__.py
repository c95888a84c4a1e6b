"""The AWS Glue job of the monthly extract: etl.py and the shared SQL in sql/."""
