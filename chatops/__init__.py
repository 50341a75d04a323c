"""svcbot ChatOps front end (Slack). Depends on manager/, never the reverse."""
