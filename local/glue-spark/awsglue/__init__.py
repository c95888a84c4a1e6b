"""A local stand-in for the few parts of AWS Glue's `awsglue` library that glue/etl.py calls.

Never deployed: on AWS, Glue provides the real library. It lets etl.main() run unchanged on a local
Spark (glue_job_server.py), with connections given by the caller instead of the Glue Data Catalog.
"""
