"""Periodic and batch work (import, collect, track, score, retrain), run in-process or on Celery."""
