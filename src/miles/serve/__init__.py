"""The FastAPI app: /api/v1 JSON routes and server-rendered pages over the same service functions."""
