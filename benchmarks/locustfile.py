"""Load for `bench_api`: anonymous title-only predictions against a local Miles (127.0.0.1 only)."""

from __future__ import annotations

import random

from locust import HttpUser, between, task

TITLES = [
    "How I cook rice in 30 seconds",
    "5 phone tricks you didn't know",
    "Why is my bread flat?",
    "I tried the viral pasta hack",
    "Morning routine of a night-shift nurse",
]


class Creator(HttpUser):
    wait_time = between(0.05, 0.2)

    @task
    def predict(self) -> None:
        self.client.post("/api/v1/predict", json={"title": random.choice(TITLES), "duration_s": 30})
