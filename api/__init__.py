"""The HTTP service: routes, schemas, persistence, jobs and auth (FastAPI + SQLAlchemy)."""
